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
/** Inside pushes grouped into one (api/scim/scim-ingest.ts): each identity's own request's trace id. */
const byIdentity = new AsyncLocalStorage<ReadonlyMap<string, string>>();

/** Runs `fn` (and everything it starts, timers and promises included) under `traceId`. */
export function withTraceId<T>(traceId: string, fn: () => T): T {
  return storage.run(traceId, fn);
}

/**
 * Runs `fn` with a trace id per identity: work about one of these identities (an operation queued for
 * it) belongs to that identity's trace, whatever request runs it — several requests' pushes grouped
 * into one run in the first request's context.
 */
export function withIdentityTraceIds<T>(traceIds: ReadonlyMap<string, string>, fn: () => T): T {
  return byIdentity.run(traceIds, fn);
}

/** The trace id of the work calling (of its work about `identityId`, when given), or null outside any trace. */
export function currentTraceId(identityId?: string | null): string | null {
  if (identityId !== undefined && identityId !== null) {
    const own = byIdentity.getStore()?.get(identityId);
    if (own !== undefined) return own;
  }
  return storage.getStore() ?? null;
}

/** A fresh trace id, for work that starts a trace of its own (a CLI run, a scheduled run). */
export function newTraceId(): string {
  return randomUUID();
}
