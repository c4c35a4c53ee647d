/**
 * A `node:http` server on a loopback port that records every request and answers with a queued
 * status (then `status`, 200 by default). It can stop and start again on the same port, so a test can
 * show a receiver that was down and came back.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";

export interface ReceivedRequest {
  method: string;
  /** Path and query, as requested. */
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export interface HttpReceiver {
  port: number;
  /** `http://127.0.0.1:PORT` */
  base: string;
  received: ReceivedRequest[];
  /** Statuses for the next requests, used up in order; then `status`. */
  queue: number[];
  /** The answer once the queue is empty. Default 200. */
  status: number;
  /** Starts listening (again) on `port`. */
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** A receiver listening on `port` (a free one when 0); `listen: false` leaves it down until `start`. */
export async function startHttpReceiver(port = 0, options: { listen?: boolean } = {}): Promise<HttpReceiver> {
  let server: http.Server | undefined;
  const receiver: HttpReceiver = {
    port,
    base: `http://127.0.0.1:${port}`,
    received: [],
    queue: [],
    status: 200,
    async start() {
      server = http.createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on("data", (chunk: Buffer) => chunks.push(chunk));
        req.on("end", () => {
          receiver.received.push({
            method: req.method ?? "",
            url: req.url ?? "",
            headers: req.headers,
            body: Buffer.concat(chunks).toString("utf8"),
          });
          const status = receiver.queue.shift() ?? receiver.status;
          res.writeHead(status, { "content-type": "text/plain", connection: "close" });
          res.end(status >= 200 && status < 300 ? "ok" : "receiver_down");
        });
      });
      const listening = server;
      await new Promise<void>((resolve, reject) => {
        listening.once("error", reject);
        listening.listen(receiver.port, "127.0.0.1", () => resolve());
      });
      receiver.port = (listening.address() as AddressInfo).port;
      receiver.base = `http://127.0.0.1:${receiver.port}`;
    },
    async stop() {
      const running = server;
      server = undefined;
      if (running === undefined) return;
      running.closeAllConnections();
      await new Promise<void>((resolve) => running.close(() => resolve()));
    },
  };
  if (options.listen !== false) await receiver.start();
  return receiver;
}
