import { type AuditEventInput, appendEvents } from "../audit/ledger.js";
import type { Account } from "../domain/access-types.js";
import type { Identity } from "../domain/identity-types.js";
import type { NhiDeclaration, NhiDiscoveryRule, NonHumanIdentity } from "../domain/nhi-types.js";
import type { TenureConfig } from "../policy/config-types.js";
import { newId } from "../shared/ids.js";
import { accountRepository } from "../store/account-repository.js";
import { identityRepository } from "../store/identity-repository.js";
import { nhiRepository } from "../store/nhi-repository.js";
import type { Db } from "../store/schema-types.js";
import type { Store } from "../store/store-types.js";
import { nhiIdentity } from "./nhi-identity.js";

/**
 * Inventory sync of non-human identities (issue 17, item 1): makes the store hold every NHI `nhi.inventory`
 * and the inventory files declare, and those `nhi.discover` rules find among reconciled accounts.
 *
 * - A declared NHI is created or updated (its identity too); its owner, a source key, email or id, is
 *   resolved against the store now (an unknown one stays unresolved: the `owner_unknown` finding).
 *   Naming a different owner in the inventory resets owner succession (a disabled NHI is enabled again).
 * - An NHI no longer declared is never deleted: it is marked removed, its identity terminated, audited.
 * - An account of a discover rule's system that belongs to no identity and matches the rule becomes a
 *   discovered NHI with no owner. The account itself is left uncorrelated: a correlated account with no
 *   desired access would be disabled (and, once managed, deleted) by the next plan.
 *
 * Idempotent: a second run with nothing changed writes nothing. Each NHI is written with its audit event
 * (`nhi.created`, `nhi.updated`, `nhi.removed`, `nhi.discovered`) in one transaction.
 */

export interface NhiSyncResult {
  created: string[];
  updated: string[];
  removed: string[];
  discovered: string[];
  unchanged: number;
}

export interface NhiSyncOptions {
  now: Date;
  /** Who syncs, for the audit: `cli:alice`, `scheduler`. */
  actor: string;
}

/** Fields compared to tell whether a sync changes an NHI (bookkeeping aside). */
const COMPARED = [
  "type",
  "system",
  "purpose",
  "ownerKey",
  "ownerId",
  "ownerSince",
  "coOwnerKeys",
  "createdOn",
  "lastRotatedAt",
  "expiresAt",
  "lastUsedAt",
  "scopes",
  "scopeLastUsed",
  "entitlements",
  "origin",
  "ownerAssignment",
  "pendingOwnerId",
  "ownerlessReason",
  "disabledAt",
  "removedAt",
] as const satisfies readonly (keyof NonHumanIdentity)[];

export async function syncNhiInventory(
  store: Store,
  config: TenureConfig,
  options: NhiSyncOptions,
): Promise<NhiSyncResult> {
  const { db } = store;
  const result: NhiSyncResult = { created: [], updated: [], removed: [], discovered: [], unchanged: 0 };
  const existing = new Map((await nhiRepository.list(db)).map((n) => [n.name, n]));
  const declared = config.nhi?.inventory ?? [];
  const owners = await ownerResolver(db, [
    ...declared.flatMap((d) => (d.owner === null ? [] : [d.owner])),
    ...[...existing.values()].flatMap((n) => (n.ownerId === null ? [] : [n.ownerId])),
  ]);
  const names = new Set<string>();

  for (const d of declared) {
    names.add(d.name);
    const before = existing.get(d.name);
    const after = await fromDeclaration(d, before, owners, options.now);
    if (before !== undefined && !differs(before, after)) {
      result.unchanged++;
      continue;
    }
    const action = before === undefined ? "nhi.created" : "nhi.updated";
    await write(db, before, after, await ownerSourceKey(after, owners), options, {
      action,
      details:
        before === undefined
          ? { name: d.name, type: d.type, origin: d.origin, owner: d.owner, at: where(d) }
          : { name: d.name, changes: changes(before, after), at: where(d) },
    });
    (before === undefined ? result.created : result.updated).push(d.name);
    existing.set(d.name, after);
  }

  for (const nhi of existing.values()) {
    if (nhi.origin === "discovered" || nhi.removedAt !== null || names.has(nhi.name)) continue;
    const after = bump(
      {
        ...nhi,
        removedAt: options.now.toISOString(),
        pendingOwnerId: null,
        pendingSince: null,
        pendingDeadline: null,
      },
      options.now,
    );
    await write(db, nhi, after, await ownerSourceKey(after, owners), options, {
      action: "nhi.removed",
      details: { name: nhi.name, reason: "no longer declared in the NHI inventory", origin: nhi.origin },
    });
    result.removed.push(nhi.name);
  }

  for (const rule of config.nhi?.discover ?? []) {
    const taken = new Set(
      [...existing.values()]
        .filter((n) => n.system === rule.system && n.account !== null)
        .map((n) => n.account),
    );
    for (const account of await accountRepository.list(db, { system: rule.system, orphansOnly: true })) {
      if (account.vanishedAt || !matchesRule(rule, account)) continue;
      const name = `${account.username}@${rule.system}`;
      const known = existing.get(name);
      if (known !== undefined) {
        // A discovered NHI's last use is its account's, as reconcile last read it (a known date is kept
        // when the connector no longer reports one).
        if (
          known.origin === "discovered" &&
          known.removedAt === null &&
          account.lastUsedAt !== null &&
          account.lastUsedAt !== known.lastUsedAt
        ) {
          const after = bump({ ...known, lastUsedAt: account.lastUsedAt }, options.now);
          await write(db, known, after, await ownerSourceKey(after, owners), options, {
            action: "nhi.updated",
            details: { name, changes: changes(known, after), at: `account ${account.username}` },
          });
          result.updated.push(name);
          existing.set(name, after);
        }
        continue;
      }
      if (taken.has(account.username)) continue;
      const nhi = discovered(rule, account, name, options.now);
      await write(db, undefined, nhi, null, options, {
        action: "nhi.discovered",
        details: {
          name,
          type: rule.type,
          system: rule.system,
          account: account.username,
          rule: `${rule.location.file}:${rule.location.line}`,
        },
      });
      result.discovered.push(name);
      existing.set(name, nhi);
      taken.add(account.username);
    }
  }
  return result;
}

/** Whether `rule` selects `account`: a DN at or under `dnUnder`, or a username LIKE `usernameLike`. */
export function matchesRule(
  rule: Pick<NhiDiscoveryRule, "dnUnder" | "usernameLike">,
  account: Account,
): boolean {
  if (rule.dnUnder !== null) {
    const dn = normaliseDn(account.nativeId ?? "");
    const base = normaliseDn(rule.dnUnder);
    return dn === base || dn.endsWith(`,${base}`);
  }
  if (rule.usernameLike !== null) return likePattern(rule.usernameLike).test(account.username);
  return false;
}

function normaliseDn(dn: string): string {
  return dn
    .split(",")
    .map((part) => part.trim().toLowerCase())
    .join(",");
}

/** A SQL LIKE pattern as a whole-string, case-insensitive regular expression. */
function likePattern(like: string): RegExp {
  const body = [...like]
    .map((ch) => (ch === "%" ? ".*" : ch === "_" ? "." : ch.replace(/[\\^$.*+?()[\]{}|/-]/g, "\\$&")))
    .join("");
  return new RegExp(`^${body}$`, "is");
}

type OwnerResolver = (ref: string) => Promise<Identity | undefined>;

/**
 * Resolves owner references (source key, email or id), each once per sync: `refs` (the inventory's owners,
 * the owners in force) in a few bulk queries up front — one query per reference made a sync of 100,000 NHIs
 * spend seconds on lookups — and any other on first use.
 */
async function ownerResolver(db: Db, refs: readonly string[]): Promise<OwnerResolver> {
  const found = await identityRepository.resolveMany(db, refs);
  const cache = new Map<string, Promise<Identity | undefined>>(
    refs.map((ref) => [ref, Promise.resolve(found.get(ref))]),
  );
  return (ref) => {
    let found = cache.get(ref);
    if (found === undefined) {
      found = identityRepository.resolve(db, ref);
      cache.set(ref, found);
    }
    return found;
  };
}

/** The owner's source key, for the identity's `managerId`: the resolved owner's, else as declared. */
async function ownerSourceKey(nhi: NonHumanIdentity, owners: OwnerResolver): Promise<string | null> {
  if (nhi.ownerId !== null) return (await owners(nhi.ownerId))?.sourceKey ?? nhi.ownerKey;
  return nhi.ownerKey;
}

async function fromDeclaration(
  d: NhiDeclaration,
  before: NonHumanIdentity | undefined,
  owners: OwnerResolver,
  now: Date,
): Promise<NonHumanIdentity> {
  const at = now.toISOString();
  const resolved = d.owner === null ? undefined : await owners(d.owner);
  const inventory = {
    type: d.type,
    system: d.system,
    purpose: d.purpose,
    ownerKey: d.owner,
    coOwnerKeys: d.coOwners,
    createdOn: d.created,
    lastRotatedAt: d.lastRotated,
    expiresAt: d.expires,
    lastUsedAt: d.lastUsed,
    scopes: d.scopes,
    scopeLastUsed: d.scopeLastUsed,
    entitlements: d.entitlements,
    origin: d.origin,
  };
  const freshOwner = {
    ownerId: resolved?.id ?? null,
    ownerSince: resolved === undefined ? null : at,
    pendingOwnerId: null,
    pendingSince: null,
    pendingDeadline: null,
    ownerlessReason: null,
    disabledReason: null,
    disabledAt: null,
    ownerAssignment: null,
  };
  if (before === undefined) {
    return {
      id: newId(),
      name: d.name,
      ...inventory,
      ...freshOwner,
      account: null,
      removedAt: null,
      createdAt: at,
      updatedAt: at,
      version: 1,
    };
  }
  // An owner assigned by hand holds until the inventory's ownership of the NHI changes: then the file wins.
  const ownerRenamed =
    before.ownerKey !== d.owner ||
    (before.ownerAssignment !== null && JSON.stringify(before.coOwnerKeys) !== JSON.stringify(d.coOwners));
  // An owner declared before the person was known to the store is taken up once they are.
  const ownerArrived =
    !ownerRenamed &&
    before.ownerId === null &&
    before.pendingOwnerId === null &&
    before.ownerlessReason === null &&
    before.disabledAt === null &&
    resolved !== undefined;
  return bump(
    {
      ...before,
      ...inventory,
      ...(ownerRenamed || ownerArrived ? freshOwner : {}),
      removedAt: null,
    },
    now,
  );
}

function discovered(rule: NhiDiscoveryRule, account: Account, name: string, now: Date): NonHumanIdentity {
  const at = now.toISOString();
  return {
    id: newId(),
    name,
    type: rule.type,
    system: rule.system,
    purpose: null,
    ownerKey: null,
    ownerId: null,
    ownerSince: null,
    coOwnerKeys: [],
    createdOn: null,
    lastRotatedAt: null,
    expiresAt: null,
    lastUsedAt: account.lastUsedAt,
    scopes: [],
    scopeLastUsed: {},
    ownerAssignment: null,
    entitlements: account.entitlements.map((e) => `${rule.system}:${e}`).sort(),
    origin: "discovered",
    account: account.username,
    pendingOwnerId: null,
    pendingSince: null,
    pendingDeadline: null,
    ownerlessReason: null,
    disabledReason: null,
    disabledAt: null,
    removedAt: null,
    createdAt: at,
    updatedAt: at,
    version: 1,
  };
}

/** `nhi` as the next version, updated at `now`. */
function bump(nhi: NonHumanIdentity, now: Date): NonHumanIdentity {
  return { ...nhi, updatedAt: now.toISOString(), version: nhi.version + 1 };
}

function differs(a: NonHumanIdentity, b: NonHumanIdentity): boolean {
  return COMPARED.some((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k]));
}

function changes(
  a: NonHumanIdentity,
  b: NonHumanIdentity,
): Record<string, { before: unknown; after: unknown }> {
  const out: Record<string, { before: unknown; after: unknown }> = {};
  for (const k of COMPARED) {
    if (JSON.stringify(a[k]) !== JSON.stringify(b[k])) out[k] = { before: a[k], after: b[k] };
  }
  return out;
}

function where(d: NhiDeclaration): string {
  return `${d.location.file}:${d.location.line}`;
}

/**
 * Writes an NHI (inserted when `before` is undefined, else over `before`'s version), its identity and its
 * audit event in one transaction. A concurrent writer that got there first wins: this write is dropped
 * and the next sync sees theirs.
 */
async function write(
  db: Db,
  before: NonHumanIdentity | undefined,
  after: NonHumanIdentity,
  ownerKey: string | null,
  options: NhiSyncOptions,
  event: Pick<AuditEventInput, "action" | "details">,
): Promise<void> {
  await db.transaction().execute(async (trx) => {
    if (before === undefined) await nhiRepository.insert(trx, after);
    else if (!(await nhiRepository.update(trx, after))) return;
    const identity = await identityRepository.findById(trx, after.id);
    const next = nhiIdentity(after, ownerKey, identity, options.now);
    if (next !== identity) await identityRepository.upsertMany(trx, [next]);
    await appendEvents(trx, [
      { time: options.now.toISOString(), actor: options.actor, subject: after.id, ...event },
    ]);
  });
}
