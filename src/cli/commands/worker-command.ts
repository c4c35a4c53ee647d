import { type Command, Option } from "commander";
import type { FastifyBaseLogger } from "fastify";
import pino from "pino";
import { startApplyWork } from "../../api/serve.js";
import { LOG_REDACTIONS } from "../../api/server.js";
import { recordConfigInForce } from "../../engine/config-versions.js";
import { configuredScheduler } from "../../engine/scheduled-jobs.js";
import { loadConfig } from "../../policy/config-loader.js";
import { TenureError, UsageError } from "../../shared/errors.js";
import { currentTraceId } from "../../shared/trace-context.js";
import { allJobs } from "../../workflows/all-jobs.js";
import { configPath, globalOptions, openConfiguredStore } from "../context.js";
import { LOG_LEVELS, prettyLogStream, serverClock, serveUntilSignalled } from "./serve-command.js";

interface WorkerCliOptions {
  batchSize?: number;
  interval?: number;
  logLevel: (typeof LOG_LEVELS)[number];
  logFormat?: "json" | "pretty";
}

function positiveInt(flag: string, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || n < 1 || n > max)
      throw new UsageError(`${flag} "${value}" is not a whole number from 1 to ${max}`);
    return n;
  };
}

/** The worker's logger: pino with serve's redactions and trace ids, JSON or pretty as serve writes them. */
async function workerLogger(opts: WorkerCliOptions, json: boolean): Promise<FastifyBaseLogger> {
  const pretty = (opts.logFormat ?? (json || !process.stdout.isTTY ? "json" : "pretty")) === "pretty";
  return pino(
    {
      level: opts.logLevel,
      redact: { paths: LOG_REDACTIONS, censor: "[redacted]" },
      mixin: () => {
        const traceId = currentTraceId();
        return traceId === null ? {} : { traceId };
      },
    },
    pretty ? await prettyLogStream() : pino.destination(1),
  ) as FastifyBaseLogger;
}

/**
 * A PostgreSQL store only: workers on several machines share one database, which SQLite — a file on one
 * machine — cannot be. Said before anything is opened.
 */
function assertSharedStore(database: string): void {
  if (database.startsWith("postgres://") || database.startsWith("postgresql://")) return;
  throw new TenureError(
    "worker_needs_postgres",
    `tenure worker needs a PostgreSQL store (database: postgres://…); this configuration's store is ${database.split(":")[0]}, which is one machine: run tenure serve alone, which applies operations and runs the scheduler itself`,
  );
}

export function registerWorker(program: Command): void {
  program
    .command("worker")
    .description(
      "apply due operations and take part in scheduler leadership, with no HTTP API (PostgreSQL only: run any number of workers and tenure serve on one database) until SIGTERM or SIGINT, then stop gracefully",
    )
    .option(
      "--batch-size <n>",
      "operations claimed at a time (default 64)",
      positiveInt("--batch-size", 1000),
    )
    .option(
      "--interval <seconds>",
      "pause before looking again once the queue is drained (default 1)",
      positiveInt("--interval", 3600),
    )
    .addOption(
      new Option("--log-level <level>", "the least severe log lines written")
        .choices(LOG_LEVELS)
        .default("info"),
    )
    .addOption(
      new Option(
        "--log-format <format>",
        "json (one object a line, for machines; also with --json) or pretty (for people); default: pretty on a terminal, else json",
      ).choices(["json", "pretty"]),
    )
    .action(async (opts: WorkerCliOptions, cmd: Command) => {
      const g = globalOptions(cmd);
      const config = await loadConfig(configPath(g));
      assertSharedStore(config.database);
      const store = await openConfiguredStore(config);
      try {
        const clock = serverClock();
        // The worker acts on this configuration from now: the ledger says so (docs/audit.md).
        await recordConfigInForce(store, config, clock(), "worker");
        const log = await workerLogger(opts, g.json === true);
        const batchSize = opts.batchSize ?? 64;
        const loop = startApplyWork({
          store,
          config,
          now: clock,
          actor: "worker",
          log,
          intervalMs: (opts.interval ?? 1) * 1000,
          batchSize,
        });
        // Every worker and every serve competes for leadership; one runs the jobs (the advisory lock).
        const scheduler = config.server.schedule.enabled
          ? configuredScheduler({
              store,
              config,
              now: clock,
              actor: "scheduler",
              log,
              jobs: allJobs({ store, config, now: clock, actor: "scheduler" }),
            })
          : null;
        scheduler?.start();
        log.info({ pid: process.pid, store: store.describe, batchSize }, "worker started");
        process.stderr.write(`tenure worker ${process.pid} started (store: ${store.describe})\n`);
        await serveUntilSignalled(
          {
            close: async () => {
              log.info("shutting down: finishing operations in flight");
              await Promise.all([loop.stop(), scheduler?.stop()]);
              log.info("stopped");
            },
          },
          config.server.shutdownGraceSeconds * 1000,
        );
      } finally {
        await store.close();
      }
    });
}
