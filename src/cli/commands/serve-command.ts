import { type Command, Option } from "commander";
import type { DestinationStream } from "pino";
import { type RunningServer, startServer } from "../../api/serve.js";
import { recordConfigInForce } from "../../engine/config-versions.js";
import { configuredScheduler } from "../../engine/scheduled-jobs.js";
import { loadConfig } from "../../policy/config-loader.js";
import { UsageError } from "../../shared/errors.js";
import { allJobs } from "../../workflows/all-jobs.js";
import { configPath, globalOptions, now, openConfiguredStore } from "../context.js";

export function parsePort(value: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65535)
    throw new UsageError(`--port "${value}" is not a TCP port (0 to 65535)`);
  return port;
}

/** The process clock for a long-running server: TENURE_NOW (warned about once) or the wall clock. */
export function serverClock(): () => Date {
  const pinned = process.env.TENURE_NOW ? now() : undefined;
  return () => pinned ?? new Date();
}

/**
 * Resolves when the process is asked to stop (SIGTERM or SIGINT) and `server` has shut down
 * gracefully. A shutdown that takes longer than `graceMs` (work in flight that does not finish) exits
 * with code 1 when the grace period ends; a second signal while shutting down exits at once with code 1.
 * Long engine work gives way to the event loop (engine/give-way.ts), so the signal and the grace timer
 * are handled even while a sync is evaluating rules.
 */
export function serveUntilSignalled(server: Pick<RunningServer, "close">, graceMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const signals = ["SIGTERM", "SIGINT"] as const;
    const onSignal = (signal: string) => {
      if (stopping) {
        process.stderr.write(`${signal} again: stopping now, without waiting\n`);
        process.exit(1);
      }
      stopping = true;
      process.stderr.write(
        `${signal}: shutting down (requests and operations in flight finish first, for up to ${graceMs / 1000} s)\n`,
      );
      const deadline = setTimeout(() => {
        process.stderr.write(
          `not stopped within ${graceMs / 1000} s (server.shutdownGraceSeconds): exiting now; claimed operations are recovered at the next start\n`,
        );
        process.exit(1);
      }, graceMs);
      // The timer alone never keeps the process up once the server has closed.
      deadline.unref();
      server.close().then(() => {
        clearTimeout(deadline);
        for (const s of signals) process.off(s, onSignal);
        resolve();
      }, reject);
    };
    let stopping = false;
    for (const s of signals) process.on(s, onSignal);
  });
}

export const LOG_LEVELS = ["trace", "debug", "info", "warn", "error", "fatal", "silent"] as const;

interface ServeCliOptions {
  host?: string;
  port?: number;
  logLevel: (typeof LOG_LEVELS)[number];
  logFormat?: "json" | "pretty";
}

/**
 * Log lines for people: pino-pretty, loaded only when asked for (JSON needs nothing), colours only on
 * a terminal. Redaction has happened before a line reaches it.
 */
export async function prettyLogStream(): Promise<DestinationStream> {
  const { default: pretty } = await import("pino-pretty");
  return pretty({
    colorize: process.stdout.isTTY === true,
    translateTime: "SYS:yyyy-mm-dd HH:MM:ss.l",
    ignore: "pid,hostname",
    destination: 1,
    sync: true,
  });
}

export function registerServe(program: Command): void {
  program
    .command("serve")
    .description(
      "serve the HTTP API (and apply due operations and run the scheduled jobs of server.schedule in the background) until SIGTERM or SIGINT, then stop gracefully",
    )
    .option("--host <host>", "address to listen on (default: server.host, 127.0.0.1)")
    .option("--port <port>", "port to listen on; 0 picks a free one (default: server.port, 8080)", parsePort)
    .addOption(
      new Option("--log-level <level>", "the least severe log lines written")
        .choices(LOG_LEVELS)
        .default("info"),
    )
    .addOption(
      new Option(
        "--log-format <format>",
        "json (one object a line, for machines) or pretty (for people); default: pretty on a terminal, else json",
      ).choices(["json", "pretty"]),
    )
    .action(async (opts: ServeCliOptions, cmd: Command) => {
      const g = globalOptions(cmd);
      const config = await loadConfig(configPath(g));
      const store = await openConfiguredStore(config);
      try {
        const clock = serverClock();
        // The server acts on this configuration from now: the ledger says so (docs/audit.md).
        await recordConfigInForce(store, config, clock(), "serve");
        const pretty = (opts.logFormat ?? (process.stdout.isTTY ? "pretty" : "json")) === "pretty";
        const server = await startServer({
          config,
          store,
          now: clock,
          host: opts.host ?? config.server.host,
          port: opts.port ?? config.server.port,
          logLevel: opts.logLevel,
          ...(pretty ? { logStream: await prettyLogStream() } : {}),
        });
        // The scheduler starts once the API listens (catching up on what fell due while down), and stops with it.
        const scheduler = config.server.schedule.enabled
          ? configuredScheduler({
              store,
              config,
              now: clock,
              actor: "scheduler",
              log: server.app.log,
              jobs: allJobs({ store, config, now: clock, actor: "scheduler" }),
            })
          : null;
        scheduler?.start();
        process.stderr.write(
          `tenure API on ${server.url} (docs: ${server.url}/api/docs; store: ${store.describe})\n`,
        );
        await serveUntilSignalled(
          {
            ...server,
            close: async () => {
              await Promise.all([server.close(), scheduler?.stop()]);
            },
          },
          config.server.shutdownGraceSeconds * 1000,
        );
      } finally {
        await store.close();
      }
    });
}
