import type { FastifyBaseLogger, FastifyInstance } from "fastify";
import type { DestinationStream, LevelWithSilent } from "pino";
import { type ApplyLoop, startApplyLoop } from "../engine/apply-loop.js";
import type { TenureConfig } from "../policy/config-types.js";
import { apiTokenRepository } from "../store/api-token-repository.js";
import type { Store } from "../store/database.js";
import { startCheckpointer } from "../store/sqlite-checkpointer.js";
import { startAccessTimer } from "../workflows/access-timer.js";
import { createTokenService } from "./auth/token-service.js";
import { logOperationOutcomes } from "./operation-log.js";
import { buildServer } from "./server.js";

export interface ServeOptions {
  config: TenureConfig;
  /** Open and migrated; closed by the caller after `close()`. */
  store: Store;
  now: () => Date;
  host: string;
  port: number;
  logStream?: DestinationStream;
  logLevel?: LevelWithSilent;
}

export interface RunningServer {
  /** Where it listens, e.g. `http://127.0.0.1:8080`. */
  url: string;
  app: FastifyInstance;
  /**
   * Graceful shutdown: stops accepting connections and lets requests in flight finish (new requests on
   * open connections get 503), while the apply loop stops (operations executing finish and are recorded,
   * claimed ones are released) and closes its connectors. Resolves when both are done.
   */
  close(): Promise<void>;
}

export interface ApplyWorkOptions {
  config: TenureConfig;
  store: Store;
  now: () => Date;
  /** The actor of the operations' audit events: `serve`, `worker`. */
  actor: string;
  log: FastifyBaseLogger;
  /** Pause between two runs once the queue is drained. */
  intervalMs: number;
  /** Operations claimed at a time (default 64). */
  batchSize?: number;
}

/**
 * The background apply loop as `tenure serve` and `tenure worker` run it: each run logged (a summary,
 * then one line per operation with its trace id), a failed run logged and tried again at the next.
 */
export function startApplyWork(options: ApplyWorkOptions): ApplyLoop {
  const { store, log } = options;
  return startApplyLoop({
    store,
    config: options.config,
    now: options.now,
    actor: options.actor,
    intervalMs: options.intervalMs,
    ...(options.batchSize === undefined ? {} : { batchSize: options.batchSize }),
    onRun: (summary, outcomes) => {
      log.info({ summary }, "applied due operations");
      logOperationOutcomes(log, store.db, outcomes).catch((err: unknown) =>
        log.error({ err }, "could not log the operations applied"),
      );
    },
    onError: (err) => log.error({ err }, "the apply loop failed; it tries again at its next run"),
  });
}

/**
 * What `tenure serve` runs: the HTTP API listening on `host:port`, and the background apply loop
 * (every `server.applyIntervalSeconds`; none when 0). The wiring of the server's parts is here.
 */
export async function startServer(options: ServeOptions): Promise<RunningServer> {
  const { config, store, now } = options;
  const tokens = createTokenService({ db: store.db, tokens: apiTokenRepository, now });
  const app = await buildServer({
    store,
    config,
    tokens,
    now,
    ...(options.logStream ? { logStream: options.logStream } : {}),
    ...(options.logLevel ? { logLevel: options.logLevel } : {}),
  });
  let shuttingDown = false;
  // A keep-alive connection whose request is in flight when shutdown starts would otherwise stay open
  // after its answer (for as long as the client keeps idle connections), holding the shutdown up.
  app.addHook("onSend", async (_request, reply, payload) => {
    if (shuttingDown) reply.header("connection", "close");
    return payload;
  });
  await app.listen({ host: options.host, port: options.port });
  const address = app.server.address();
  const port = typeof address === "object" && address !== null ? address.port : options.port;
  const host = options.host.includes(":") ? `[${options.host}]` : options.host;

  const loop =
    config.server.applyIntervalSeconds > 0
      ? startApplyWork({
          store,
          config,
          now,
          actor: "serve",
          log: app.log,
          intervalMs: config.server.applyIntervalSeconds * 1000,
        })
      : null;
  // Granted access ends at its moment (a timer on the next end, not only a sweep), and on start
  // whatever ended while the server was down.
  const accessTimer = startAccessTimer({
    store,
    config,
    now,
    actor: "serve",
    onPass: (pass) =>
      app.log.info(
        {
          ended: pass.confirmed.length,
          unconfirmed: pass.unconfirmed.length,
          expiredRequests: pass.expiredRequests,
          reminders: pass.reminders,
          warnings: pass.warnings,
        },
        "access timer pass",
      ),
    onError: (err) => app.log.error({ err }, "the access timer failed; it tries again at its next pass"),
  });
  // SQLite's write-ahead log is copied into the database from a thread, not in a push's commit.
  const checkpointer = await startCheckpointer(store.db, {
    onError: (err) =>
      app.log.warn({ err }, "a checkpoint of the SQLite log failed: SQLite checkpoints in its commits again"),
  });
  let closing: Promise<void> | undefined;
  return {
    url: `http://${host}:${port}`,
    app,
    close() {
      closing ??= (async () => {
        shuttingDown = true;
        app.log.info("shutting down: finishing requests and operations in flight");
        await Promise.all([app.close(), loop?.stop(), accessTimer.stop()]);
        await checkpointer.stop();
        app.log.info("stopped");
      })();
      return closing;
    },
  };
}
