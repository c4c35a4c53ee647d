import { createHash } from "node:crypto";
import { Worker } from "node:worker_threads";
import type { Identity } from "../domain/identity-types.js";
import type { PeerCounts } from "../domain/review-scope.js";
import type { ReviewDefinition } from "../domain/review-types.js";
import type { IdRange } from "../engine/review-access.js";
import type { TenureConfig } from "../policy/config-types.js";
import { storeUrlOf } from "../store/database.js";
import { reviewPopulationRepository } from "../store/review-population-repository.js";
import type { Db } from "../store/schema-types.js";
import type { ScoredPack, ScoringTotals } from "./review-scoring.js";

/**
 * A large campaign's population computed in two threads: this one reads, computes and scores the first
 * half of everyone by id, a worker thread (workflows/review-split-worker.ts) the second, each with its
 * own connection to the store. Between the two passes each adds the other's peer counts to its own, so
 * every item is scored against everyone. The worker writes nothing: its packs come here, into the
 * campaign's one transaction. On two cores a campaign of 100,000 identities took about a tenth less
 * (docs/performance.md, "Access reviews", round 14).
 *
 * The worker loads the configuration again from its file (compiled rules cannot be sent to a thread)
 * and checks it is the campaign's (`configDigest`); when it is not it refuses, and when it refuses or
 * fails before it has read its half, this thread computes everyone (workflows/review-generation.ts).
 */

/** Identities still here from which a campaign is split: below, a thread's start costs more than it saves. */
export const SPLIT_IDENTITIES = 20_000;

/** What the worker is given. */
export interface PartRequest {
  configPath: string;
  configDigest: string;
  storeUrl: string;
  /** The definition's name in the configuration, or the definition itself (no compiled rule in it). */
  definition: string | ReviewDefinition;
  now: string;
  part: IdRange;
}

/** What the worker says, in this order: loaded (or refused, or error), packs…, done. */
export type PartMessage =
  | { type: "refused"; why: string }
  | { type: "error"; message: string }
  | { type: "loaded"; counts: PeerCounts; items: number; subjects: number }
  | { type: "packs"; packs: ScoredPack[] }
  | { type: "done"; totals: ScoringTotals; reviewers: Identity[] };

/** A digest of what a configuration says, its compiled rules by their text: equal for equal files. */
export function configDigest(config: TenureConfig): string {
  return createHash("sha256").update(JSON.stringify(config)).digest("hex");
}

/** The other half, computed in the worker thread. */
export interface OtherPart {
  /** Its load: its peer counts, items and subjects; null when the worker refused (compute it here). */
  loaded: Promise<{ counts: PeerCounts; items: number; subjects: number } | null>;
  /**
   * Scores it once everyone's counts are known: `counts` are this thread's (before the other's were
   * added). Each batch of its packs goes to `onPacks`, in order. Resolves with its totals and the
   * reviewers it named.
   */
  score(
    counts: PeerCounts,
    onPacks: (packs: ScoredPack[]) => Promise<void>,
  ): Promise<{ totals: ScoringTotals; reviewers: Identity[] }>;
  /** Ends the thread (it may still be running when the campaign failed). */
  close(): Promise<void>;
}

/**
 * The worker's module beside this one. Run from the sources (tests, benches), it is TypeScript: the
 * thread registers tsx first (Node 20 does not apply an `--import` given in a worker's execArgv).
 */
function workerEntry(): { entry: string | URL; evaluated: boolean } {
  if (!import.meta.url.endsWith(".ts"))
    return { entry: new URL("./review-split-worker.js", import.meta.url), evaluated: false };
  const module = new URL("./review-split-worker.ts", import.meta.url).href;
  const api = typeof import.meta.resolve === "function" ? import.meta.resolve("tsx/esm/api") : "tsx/esm/api";
  return {
    entry: `import(${JSON.stringify(api)}).then(({ register }) => { register(); return import(${JSON.stringify(module)}); })`,
    evaluated: true,
  };
}

/**
 * Starts the worker on the second half of everyone and gives this thread's part, the first half; null
 * when this campaign is not split: fewer than `atLeast` identities still here, a store opened otherwise
 * than by URL (in memory, a transaction), or a definition that cannot be sent (a compiled `where` rule).
 * The store is only counted once the rest allows a split.
 */
export async function startOtherPart(
  db: Db,
  config: TenureConfig,
  definition: string | ReviewDefinition,
  now: Date,
  atLeast: number,
): Promise<{ other: OtherPart; mine: IdRange } | null> {
  const storeUrl = storeUrlOf(db);
  if (storeUrl === null) return null;
  if (typeof definition !== "string" && definition.scope.where !== null) return null;
  let digest: string;
  try {
    digest = configDigest(config);
  } catch {
    return null;
  }
  const middle = await reviewPopulationRepository.middle(db, atLeast);
  if (middle === null) return null;
  const part: IdRange = { after: middle, through: null };
  const request: PartRequest = {
    configPath: config.path,
    configDigest: digest,
    storeUrl,
    definition,
    now: now.toISOString(),
    part,
  };
  const { entry, evaluated } = workerEntry();
  let worker: Worker;
  try {
    worker = new Worker(entry, { workerData: request, eval: evaluated });
  } catch {
    return null;
  }
  let ended = false;
  // Every message in arrival order, and what the next awaits.
  const queue: PartMessage[] = [];
  let wake: (() => void) | null = null;
  let failure: Error | null = null;
  const fail = (error: Error) => {
    failure ??= error;
    wake?.();
  };
  worker.on("message", (m: PartMessage) => {
    queue.push(m);
    wake?.();
  });
  worker.on("error", (error) => fail(error));
  worker.on("exit", (code) => {
    ended = true;
    fail(new Error(`the campaign's second thread ended (exit code ${code}) before it was done`));
  });
  const next = async (): Promise<PartMessage> => {
    for (;;) {
      const m = queue.shift();
      if (m !== undefined) {
        if (m.type === "error") throw new Error(`the campaign's second thread failed: ${m.message}`);
        return m;
      }
      if (failure !== null) throw failure;
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
      wake = null;
    }
  };
  const loaded = (async () => {
    const m = await next();
    if (m.type === "refused") return null;
    if (m.type !== "loaded") throw new Error(`the campaign's second thread said ${m.type} before loading`);
    return { counts: m.counts, items: m.items, subjects: m.subjects };
  })();
  // Unawaited when this thread fails first.
  loaded.catch(() => {});
  const other: OtherPart = {
    loaded,
    async score(counts, onPacks) {
      worker.postMessage({ counts });
      for (;;) {
        const m = await next();
        if (m.type === "packs") await onPacks(m.packs);
        else if (m.type === "done") return { totals: m.totals, reviewers: m.reviewers };
        else throw new Error(`the campaign's second thread said ${m.type} while scoring`);
      }
    },
    async close() {
      if (!ended) await worker.terminate();
    },
  };
  return { other, mine: { after: null, through: middle } };
}
