import type { Identity } from "../domain/identity-types.js";
import { nhiInventoryDigest } from "../domain/nhi-digest.js";
import type { NhiDeclaration, NonHumanIdentity } from "../domain/nhi-types.js";
import type { TenureConfig } from "../policy/config-types.js";
import type { MassChangeError } from "../shared/errors.js";
import { identityRepository } from "../store/identity-repository.js";
import { nhiRepository } from "../store/nhi-repository.js";
import type { Db } from "../store/schema-types.js";
import type { Store } from "../store/store-types.js";
import {
  changesOf,
  differs,
  fromDeclaration,
  inventoryOf,
  type OwnerResolver,
} from "./nhi-inventory-diff.js";
import { discoverChanges } from "./nhi-inventory-discover.js";
import { removalChanges, removalGate } from "./nhi-inventory-removal.js";
import { type NhiChange, writeNhiChanges } from "./nhi-inventory-write.js";

/**
 * Inventory sync of non-human identities (issue 17, item 1): makes the store hold every NHI `nhi.inventory`
 * and the inventory files declare, and those `nhi.discover` rules find among reconciled accounts.
 *
 * - A declared NHI is created or updated (its identity too); its owner, a source key, email or id, is
 *   resolved against the store now (an unknown one stays unresolved: the `owner_unknown` finding).
 *   Naming a different owner in the inventory resets owner succession (a disabled NHI is enabled again).
 * - An NHI no longer declared is never deleted: it is marked removed, its identity terminated, and it is
 *   disabled ("removed from inventory") — its account's disable queued through the hold of
 *   workflows/nhi-disable.ts in the same transaction, and applied at once — audited (`nhi.removed`,
 *   `nhi.disabled`). Declared again, it is live and enabled again (the next settling of accounts, which
 *   `nhi sync` and the `nhi` job run, releases the hold and enables the account). Removal disables pass
 *   mass-change protection (workflows/nhi-mass-change.ts): past the threshold none of them is made — those
 *   NHIs stay live and enabled, the rest of the sync goes ahead — until an admin confirms the plan hash.
 * - An account of a discover rule's system that belongs to no identity and matches the rule becomes a
 *   discovered NHI with no owner. The account itself is left uncorrelated: a correlated account with no
 *   desired access would be disabled (and, once managed, deleted) by the next plan.
 *
 * Idempotent: a second run with nothing changed writes nothing. Every NHI's name and stored inventory
 * digest (domain/nhi-digest.ts) are read at once; only the NHIs whose digest differs from their
 * declaration's, that wait for their declared owner, were removed, or are no longer declared are read
 * whole and compared in memory (workflows/nhi-inventory-diff.ts). What changed is written in transactions
 * of a few thousand NHIs, each NHI with its identity and its audit events (`nhi.created`, `nhi.updated`,
 * `nhi.removed`, `nhi.disabled`, `nhi.discovered`) (workflows/nhi-inventory-write.ts). The removals and
 * their mass-change gate are workflows/nhi-inventory-removal.ts; discovery workflows/nhi-inventory-discover.ts.
 */

export interface NhiSyncResult {
  created: string[];
  updated: string[];
  removed: string[];
  discovered: string[];
  unchanged: number;
  /**
   * The removal disables mass-change protection held back (workflows/nhi-mass-change.ts): those NHIs were
   * left as they were — live, enabled, declared or not — until an admin confirms the plan hash; the rest of
   * the sync went ahead. Absent when nothing was held.
   */
  massChangeStopped?: MassChangeError;
  /** True when the confirmed hash was this sync's removal plan (then owner succession runs unconfirmed). */
  massChangeConfirmed?: true;
}

export interface NhiSyncOptions {
  now: Date;
  /** Who syncs, for the audit: `cli:alice`, `scheduler`. */
  actor: string;
  /**
   * The plan hash an admin confirmed (`tenure nhi sync --confirm-mass-change HASH`): either this sync's
   * removal disables or owner succession's disables (docs/nhi.md "Mass-change protection").
   */
  confirmMassChange?: string | undefined;
}

export async function syncNhiInventory(
  store: Store,
  config: TenureConfig,
  options: NhiSyncOptions,
): Promise<NhiSyncResult> {
  const { db } = store;
  const result: NhiSyncResult = {
    created: [],
    updated: [],
    removed: [],
    discovered: [],
    unchanged: 0,
  };
  // (name, digest) of every NHI; whole rows only of those that may change (docs/performance.md).
  const stored = await nhiRepository.syncIndex(db);
  const declared = config.nhi?.inventory ?? [];
  const names = new Set<string>();
  const toRead: string[] = [];
  // Declarations whose stored NHI has the same inventory digest and nothing else for the sync to do.
  const settled = new Set<NhiDeclaration>();
  for (const d of declared) {
    names.add(d.name);
    const entry = stored.get(d.name);
    if (entry === undefined) continue;
    if (
      entry.live &&
      !(entry.awaitingOwner && d.owner !== null) &&
      entry.digest === nhiInventoryDigest(inventoryOf(d))
    ) {
      settled.add(d);
    } else {
      toRead.push(d.name);
    }
  }
  for (const [name, entry] of stored) {
    if (entry.origin !== "discovered" && entry.live && !names.has(name)) toRead.push(name);
  }
  const existing = new Map((await nhiRepository.findByNames(db, toRead)).map((n) => [n.name, n]));
  const owners = await ownerResolver(db, [
    ...declared.flatMap((d) => (d.owner === null || settled.has(d) ? [] : [d.owner])),
    ...[...existing.values()].flatMap((n) => (n.ownerId === null ? [] : [n.ownerId])),
  ]);
  const changes: Omit<NhiChange, "ownerKey">[] = [];
  const change = (c: Omit<NhiChange, "ownerKey">) => {
    changes.push(c);
    existing.set(c.after.name, c.after);
  };
  // Read whole and found unchanged, but with no (or a stale) digest stored: written, nothing else.
  const undigested: NonHumanIdentity[] = [];

  for (const d of declared) {
    if (settled.has(d)) {
      result.unchanged++;
      continue;
    }
    const before = existing.get(d.name);
    const after = fromDeclaration(d, before, owners.resolve, options.now);
    if (before !== undefined && !differs(before, after)) {
      result.unchanged++;
      if (stored.get(d.name)?.digest !== nhiInventoryDigest(before)) undigested.push(before);
      continue;
    }
    const created = before === undefined;
    change({
      kind: created ? "created" : "updated",
      before,
      after,
      events: [
        {
          action: created ? "nhi.created" : "nhi.updated",
          details: created
            ? { name: d.name, type: d.type, origin: d.origin, owner: d.owner, at: where(d) }
            : { name: d.name, changes: changesOf(before, after), at: where(d) },
        },
      ],
    });
  }

  const gone = [...existing.values()].filter(
    (n) => n.origin !== "discovered" && n.removedAt === null && !names.has(n.name),
  );
  const { stopped, confirmed } = await removalGate(
    store,
    config,
    gone.filter((n) => n.disabledAt === null),
    options,
  );
  if (stopped !== null) result.massChangeStopped = stopped;
  if (confirmed) result.massChangeConfirmed = true;
  for (const c of removalChanges(gone, stopped !== null, owners.resolve, options.now)) change(c);

  for (const rule of config.nhi?.discover ?? []) {
    await discoverChanges(db, rule, existing, stored, change, options.now);
  }

  if (undigested.length > 0) {
    await db.transaction().execute((trx) => nhiRepository.storeDigests(trx, undigested));
  }
  // Owners of NHIs read since the resolver was made (discovery), for the identities' managerId.
  await owners.add(changes.flatMap((c) => (c.after.ownerId === null ? [] : [c.after.ownerId])));
  const written = await writeNhiChanges(
    store,
    config,
    changes.map((c) => ({ ...c, ownerKey: ownerSourceKey(c.after, owners.resolve) })),
    options,
  );
  for (const c of written) result[c.kind].push(c.after.name);
  return result;
}

/**
 * Resolves owner references (source key, email or id) in a few bulk queries up front — one query per
 * reference made a sync of 100,000 NHIs spend seconds on lookups. A reference not found names nobody.
 * Owners found are also known by their id (the owner in force of an NHI written by this sync); `add`
 * resolves more references, those not tried yet.
 */
async function ownerResolver(
  db: Db,
  refs: readonly string[],
): Promise<{ resolve: OwnerResolver; add(refs: readonly string[]): Promise<void> }> {
  const found = new Map<string, Identity>();
  const byId = new Map<string, Identity>();
  const tried = new Set<string>();
  const resolve: OwnerResolver = (ref) => found.get(ref) ?? byId.get(ref);
  const add = async (more: readonly string[]) => {
    const fresh = [...new Set(more)].filter((r) => !tried.has(r) && resolve(r) === undefined);
    for (const r of fresh) tried.add(r);
    if (fresh.length === 0) return;
    for (const [ref, identity] of await identityRepository.resolveMany(db, fresh)) {
      found.set(ref, identity);
      byId.set(identity.id, identity);
    }
  };
  await add(refs);
  return { resolve, add };
}

/** The owner's source key, for the identity's `managerId`: the resolved owner's, else as declared. */
function ownerSourceKey(nhi: NonHumanIdentity, owners: OwnerResolver): string | null {
  if (nhi.ownerId !== null) return owners(nhi.ownerId)?.sourceKey ?? nhi.ownerKey;
  return nhi.ownerKey;
}

function where(d: NhiDeclaration): string {
  return `${d.location.file}:${d.location.line}`;
}
