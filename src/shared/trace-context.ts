import { AsyncLocalStorage } from "node:async_hooks";
import { randomUUID } from "node:crypto";

/**
 * The trace id of the work in progress: an HTTP request (its request id), a CLI `sync` / `apply` run,
 * a scheduled job's run. It follows the work through every await without being passed down the long
 * chain from a SCIM push to the operations it queues (route → service → ingest → sync → plan →
 * enqueue): enqueue stores it on each operation (`operations.trace_id`) and the server's log lines
 * carry it as `traceId`.
 */
const storage = new AsyncLocalStorage<string>();

/** Runs `fn` (and everything it starts, timers and promises included) under `traceId`. */
export function withTraceId<T>(traceId: string, fn: () => T): T {
  return storage.run(traceId, fn);
}

/** The trace id of the work calling, or null outside any trace. */
export function currentTraceId(): string | null {
  return storage.getStore() ?? null;
}

/** A fresh trace id, for work that starts a trace of its own (a CLI run, a scheduled run). */
export function newTraceId(): string {
  return randomUUID();
}
