import { type AuditEventInput, appendEvents } from "../audit/ledger.js";
import type { Identity } from "../domain/identity-types.js";
import type { NonHumanIdentity } from "../domain/nhi-types.js";
import { connectorPool } from "../engine/provision.js";
import { enqueueNotificationsMany } from "../notify/notification-enqueue.js";
import type { NotificationEvent } from "../notify/notification-events.js";
import type { TenureConfig } from "../policy/config-types.js";
import { identityRepository } from "../store/identity-repository.js";
import { nhiRepository } from "../store/nhi-repository.js";
import type { Db } from "../store/schema-types.js";
import type { Store } from "../store/store-types.js";
import {
  applyNhiAccountOperations,
  type NhiAccountDeps,
  type NhiAccountOutcome,
  settleNhiAccountIn,
  systemFactsFrom,
} from "./nhi-disable.js";
import { nhiIdentity } from "./nhi-identity.js";

/** The disabled reason of an NHI no longer declared in the inventory. */
export const REMOVED_REASON = "removed from inventory";

/** NHIs written per transaction: a first sync of 100,000 in one transaction each took minutes. */
const CHUNK = 2_000;

/** One NHI the inventory sync writes: inserted (no `before`) or over `before`'s version. */
export interface NhiChange {
  kind: "created" | "updated" | "removed" | "discovered";
  before: NonHumanIdentity | undefined;
  after: NonHumanIdentity;
  /** The owner's source key, the identity's `managerId`. */
  ownerKey: string | null;
  events: Pick<AuditEventInput, "action" | "details">[];
  /** Disabled by this write: its account's disable is queued in the same transaction. */
  settleAccount?: boolean;
  /** Who is told, queued in the same transaction (the owner of an NHI removed from the inventory). */
  notification?: NotificationEvent;
}

/**
 * Writes `changes` in transactions of {@link CHUNK} NHIs: new NHIs in bulk, changed ones each over the
 * version that was read, every NHI written with its identity and its audit events in the same
 * transaction. A concurrent writer that got there first wins: that NHI's write (a name inserted meanwhile,
 * a row that moved on) is dropped with its identity and events, and the next sync sees theirs. The
 * accounts of NHIs disabled here are held and their disables queued in the NHI's transaction, then applied
 * at once. Returns the changes written.
 */
export async function writeNhiChanges(
  store: Store,
  config: TenureConfig,
  changes: readonly NhiChange[],
  options: { now: Date; actor: string },
): Promise<NhiChange[]> {
  if (changes.length === 0) return [];
  const settling = changes.some((c) => c.settleAccount === true);
  const pool = settling ? connectorPool(config) : undefined;
  try {
    const deps: NhiAccountDeps | undefined =
      pool === undefined ? undefined : { config, systemFacts: systemFactsFrom(config, pool) };
    const written: NhiChange[] = [];
    const outcomes: NhiAccountOutcome[] = [];
    for (let start = 0; start < changes.length; start += CHUNK) {
      const chunk = changes.slice(start, start + CHUNK);
      await store.db.transaction().execute(async (trx) => {
        const done = await writeChunk(trx, chunk, options);
        await enqueueNotificationsMany(
          trx,
          done.flatMap((c) => (c.notification === undefined ? [] : [c.notification])),
          config,
          options.now,
        );
        const settled: NhiAccountOutcome[] = [];
        for (const c of done) {
          if (c.settleAccount !== true || deps === undefined) continue;
          const outcome = await settleNhiAccountIn(trx, c.after, deps, options);
          if (outcome !== null) settled.push(outcome);
        }
        // Kept only once the transaction commits.
        written.push(...done);
        outcomes.push(...settled);
      });
    }
    if (pool !== undefined) await applyNhiAccountOperations(store, config, pool, outcomes, options);
    return written;
  } finally {
    await pool?.closeAll();
  }
}

async function writeChunk(
  trx: Db,
  chunk: readonly NhiChange[],
  options: { now: Date; actor: string },
): Promise<NhiChange[]> {
  const inserted = await nhiRepository.insertMany(
    trx,
    chunk.filter((c) => c.before === undefined).map((c) => c.after),
  );
  const done: NhiChange[] = [];
  for (const c of chunk) {
    if (c.before === undefined ? inserted.has(c.after.id) : await nhiRepository.update(trx, c.after))
      done.push(c);
  }
  const identities = await identityRepository.findByIds(
    trx,
    done.filter((c) => c.before !== undefined).map((c) => c.after.id),
  );
  const upserts: Identity[] = [];
  for (const c of done) {
    const identity = identities.get(c.after.id);
    const next = nhiIdentity(c.after, c.ownerKey, identity, options.now);
    if (next !== identity) upserts.push(next);
  }
  await identityRepository.upsertMany(trx, upserts);
  const time = options.now.toISOString();
  await appendEvents(
    trx,
    done.flatMap((c) => c.events.map((e) => ({ time, actor: options.actor, subject: c.after.id, ...e }))),
  );
  return done;
}
