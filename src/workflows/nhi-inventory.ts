import type { Account } from "../domain/access-types.js";
import type { Identity } from "../domain/identity-types.js";
import type { NhiDeclaration, NhiDiscoveryRule, NonHumanIdentity } from "../domain/nhi-types.js";
import type { TenureConfig } from "../policy/config-types.js";
import { type MassChangeError, PlanChangedError } from "../shared/errors.js";
import { newId } from "../shared/ids.js";
import { accountRepository } from "../store/account-repository.js";
import { identityRepository } from "../store/identity-repository.js";
import { nhiRepository } from "../store/nhi-repository.js";
import type { Db } from "../store/schema-types.js";
import type { Store } from "../store/store-types.js";
import { type NhiChange, REMOVED_REASON, writeNhiChanges } from "./nhi-inventory-write.js";
import { nhiDisablePlanHash, nhiMassDisableGate } from "./nhi-mass-change.js";
import { successionDisablePlanHash } from "./nhi-succession.js";

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
 * Idempotent: a second run with nothing changed writes nothing. Every NHI is read at once and compared in
 * memory; what changed is written in transactions of a few thousand NHIs, each NHI with its identity and
 * its audit events (`nhi.created`, `nhi.updated`, `nhi.removed`, `nhi.disabled`, `nhi.discovered`)
 * (workflows/nhi-inventory-write.ts).
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
  const result: NhiSyncResult = {
    created: [],
    updated: [],
    removed: [],
    discovered: [],
    unchanged: 0,
  };
  // One read of every NHI and of every owner named; the rest is compared in memory, and only what
  // changed is written (docs/performance.md, non-human identities).
  const existing = new Map((await nhiRepository.list(db)).map((n) => [n.name, n]));
  const declared = config.nhi?.inventory ?? [];
  const owners = await ownerResolver(db, [
    ...declared.flatMap((d) => (d.owner === null ? [] : [d.owner])),
    ...[...existing.values()].flatMap((n) => (n.ownerId === null ? [] : [n.ownerId])),
  ]);
  const names = new Set<string>();
  const changes: NhiChange[] = [];
  const change = (
    before: NonHumanIdentity | undefined,
    after: NhiChange["after"],
    rest: Omit<NhiChange, "before" | "after" | "ownerKey">,
  ) => {
    changes.push({ before, after, ownerKey: ownerSourceKey(after, owners), ...rest });
    existing.set(after.name, after);
  };

  for (const d of declared) {
    names.add(d.name);
    const before = existing.get(d.name);
    const after = fromDeclaration(d, before, owners, options.now);
    if (before !== undefined && !differs(before, after)) {
      result.unchanged++;
      continue;
    }
    const created = before === undefined;
    change(before, after, {
      kind: created ? "created" : "updated",
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
  // Mass-change protection: an emptied or truncated inventory must not switch every credential off at once.
  const { stopped, confirmed } = await removalGate(
    store,
    config,
    gone.filter((n) => n.disabledAt === null),
    options,
  );
  if (stopped !== null) result.massChangeStopped = stopped;
  if (confirmed) result.massChangeConfirmed = true;
  for (const nhi of gone) {
    // Removed from the inventory: kept, and disabled — its credential switched off like any disabled NHI's.
    const disables = nhi.disabledAt === null;
    // Held: left exactly as it was (live, enabled) until the plan is confirmed.
    if (disables && stopped !== null) continue;
    const at = options.now.toISOString();
    const after = bump(
      {
        ...nhi,
        removedAt: at,
        pendingOwnerId: null,
        pendingSince: null,
        pendingDeadline: null,
        ...(disables ? { disabledAt: at, disabledReason: REMOVED_REASON } : {}),
      },
      options.now,
    );
    change(nhi, after, {
      kind: "removed",
      settleAccount: disables,
      ...(disables
        ? {
            notification: {
              name: "nhi.removed",
              data: {
                nhiId: nhi.id,
                name: nhi.name,
                type: nhi.type,
                to: (nhi.ownerId === null ? undefined : owners(nhi.ownerId))?.attributes.email ?? null,
                outcome: "disabled",
                reason: REMOVED_REASON,
                removedAt: at,
              },
            } as const,
          }
        : {}),
      events: [
        {
          action: "nhi.removed",
          details: { name: nhi.name, reason: "no longer declared in the NHI inventory", origin: nhi.origin },
        },
        ...(disables
          ? [
              {
                action: "nhi.disabled",
                details: { name: nhi.name, reason: REMOVED_REASON, previous: nhi.ownerId },
              },
            ]
          : []),
      ],
    });
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
          change(known, after, {
            kind: "updated",
            events: [
              {
                action: "nhi.updated",
                details: { name, changes: changesOf(known, after), at: `account ${account.username}` },
              },
            ],
          });
        }
        continue;
      }
      if (taken.has(account.username)) continue;
      change(undefined, discovered(rule, account, name, options.now), {
        kind: "discovered",
        events: [
          {
            action: "nhi.discovered",
            details: {
              name,
              type: rule.type,
              system: rule.system,
              account: account.username,
              rule: `${rule.location.file}:${rule.location.line}`,
            },
          },
        ],
      });
      taken.add(account.username);
    }
  }

  const written = await writeNhiChanges(store, config, changes, options);
  for (const c of written) result[c.kind].push(c.after.name);
  return result;
}

/**
 * The removal disables at the mass-change gate (workflows/nhi-mass-change.ts). `nhi sync` takes one
 * confirmed hash for two gates, told apart by the plan each would make now: this sync's removals, or owner
 * succession's disables (which runs after the sync and checks the hash itself). A hash that is neither is
 * refused here, before the sync writes or records anything.
 * @throws PlanChangedError for a hash that is the plan of neither gate.
 */
async function removalGate(
  store: Store,
  config: TenureConfig,
  due: readonly NonHumanIdentity[],
  options: NhiSyncOptions,
): Promise<{ stopped: MassChangeError | null; confirmed: boolean }> {
  const confirm = options.confirmMassChange;
  const mine = nhiDisablePlanHash("removal", due);
  if (confirm !== undefined && confirm !== mine) {
    const succession = await successionDisablePlanHash(store, config, options.now);
    if (confirm !== succession) {
      const now = due.length > 0 || succession === null ? mine : succession;
      throw new PlanChangedError(
        `NHI sync: the plan changed since it was shown: confirmed ${confirm}, but it is neither the plan of the ` +
          `removals from the inventory (${mine}) nor that of owner succession's disables ` +
          `(${succession ?? "none: no nhi.policy"}); nothing was changed. Look at what the run would do now ` +
          `and, if it is intended, confirm that plan: tenure nhi sync --confirm-mass-change ${now}`,
        confirm,
        now,
      );
    }
  }
  const confirmed = confirm !== undefined && confirm === mine;
  const stopped = await nhiMassDisableGate(store, config, "removal", due, {
    now: options.now,
    actor: options.actor,
    confirm: confirmed ? confirm : undefined,
  });
  return { stopped, confirmed };
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

type OwnerResolver = (ref: string) => Identity | undefined;

/**
 * Resolves owner references (source key, email or id) in a few bulk queries up front — one query per
 * reference made a sync of 100,000 NHIs spend seconds on lookups. A reference not found names nobody.
 * Owners found are also known by their id (the owner in force of an NHI written by this sync).
 */
async function ownerResolver(db: Db, refs: readonly string[]): Promise<OwnerResolver> {
  const found = await identityRepository.resolveMany(db, [...new Set(refs)]);
  const byId = new Map<string, Identity>();
  for (const identity of found.values()) byId.set(identity.id, identity);
  return (ref) => found.get(ref) ?? byId.get(ref);
}

/** The owner's source key, for the identity's `managerId`: the resolved owner's, else as declared. */
function ownerSourceKey(nhi: NonHumanIdentity, owners: OwnerResolver): string | null {
  if (nhi.ownerId !== null) return owners(nhi.ownerId)?.sourceKey ?? nhi.ownerKey;
  return nhi.ownerKey;
}

function fromDeclaration(
  d: NhiDeclaration,
  before: NonHumanIdentity | undefined,
  owners: OwnerResolver,
  now: Date,
): NonHumanIdentity {
  const at = now.toISOString();
  const resolved = d.owner === null ? undefined : owners(d.owner);
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
  // Back in the inventory: the disable its removal made is lifted (a disable for another reason stays).
  const returned = before.removedAt !== null && before.disabledReason === REMOVED_REASON;
  return bump(
    {
      ...before,
      ...inventory,
      ...(returned ? { disabledAt: null, disabledReason: null } : {}),
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
  for (const k of COMPARED) if (!same(a[k], b[k])) return true;
  return false;
}

/** Deep equality of JSON-like values (strings, numbers, null, lists, plain objects), without serialising. */
function same(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== "object" || typeof b !== "object") return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const list = b as unknown[];
    if (a.length !== list.length) return false;
    for (let i = 0; i < a.length; i++) if (!same(a[i], list[i])) return false;
    return true;
  }
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  const keys = Object.keys(x);
  // Key order counts, as it did when values were compared as JSON text (scopeLastUsed is written in order).
  const other = Object.keys(y);
  if (keys.length !== other.length) return false;
  for (let i = 0; i < keys.length; i++) {
    if (keys[i] !== other[i] || !same(x[keys[i]!], y[keys[i]!])) return false;
  }
  return true;
}

function changesOf(
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
