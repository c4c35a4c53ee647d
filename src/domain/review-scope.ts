import type { DesiredAccess, Lineage, Policy } from "./access-types.js";
import type { Identity, WorkerAttributes } from "./identity-types.js";
import type { ReviewAccess, ReviewScope, ReviewSource } from "./review-types.js";

/**
 * Which of an identity's access a campaign reviews: every piece of access it holds now (birthright,
 * assignments, mover grace, and entitlements reconcile found in the targets), one candidate each with
 * its source and lineage, then the definition's scope filters. And the peer statistics the risk reads
 * (holders among people of the same department and title). Pure.
 */

/** An enabled, present account of the identity, as reconcile last read it. */
export interface ReviewAccount {
  system: string;
  username: string;
  entitlements: readonly string[];
  /** Whether Tenure granted this entitlement (else it was added in the system directly). */
  isManaged(key: string): boolean;
  /** Last use as the connector reports it; null when unknown or never. */
  lastUsedAt: string | null;
}

/** One piece of access an identity holds now: what an item is made of, before scope and risk. */
export interface CandidateItem {
  access: ReviewAccess;
  /** `accessKeyOf(access)`: `role:NAME` or `entitlement:SYSTEM:KEY`. */
  accessKey: string;
  source: ReviewSource;
  /** The assignment giving it (source `assignment`, or an assignment beside birthright); else null. */
  assignmentId: string | null;
  /** The request behind that assignment; null for an administrator's or none. */
  requestId: string | null;
  /** Mover grace: when it ends. */
  graceUntil: string | null;
  privileged: boolean;
  /** Every reason it is held, as desired state explains it; empty for access found only in the target. */
  lineage: readonly Lineage[];
  /** The account in the access's system (entitlements only), if the identity has one. */
  account: ReviewAccount | null;
}

export interface CandidateInput {
  policy: Policy;
  /** Desired access now and roles held now (DesiredStateCalculator.computeWithRoles). */
  desired: DesiredAccess;
  roles: ReadonlyMap<string, readonly Lineage[]>;
  accounts: readonly ReviewAccount[];
  /** Role items too (a campaign reviewing roles); entitlement items are always gathered. */
  withRoles: boolean;
  /** Keys already built, shared by the identities of one load (see {@link createAccessKeys}). */
  keys?: AccessKeys;
}

/**
 * The key of an entitlement item, as `accessKeyOf` writes it (without building the access first); with
 * `access`, the item's access too, one frozen object per entitlement shared by every item of it.
 */
export type AccessKeys = ((system: string, entitlement: string) => string) & {
  access?: (system: string, entitlement: string) => ReviewAccess;
};

/** An {@link AccessKeys} that builds the key each time. */
function entitlementKey(system: string, entitlement: string): string {
  return `entitlement:${system}:${entitlement}`;
}

function entitlementAccess(system: string, entitlement: string): ReviewAccess {
  return { kind: "entitlement", system, entitlement };
}

/**
 * Entitlement keys built once per system and entitlement, the same string each time: a key built anew
 * per item is a rope V8 flattens and hashes again at every map it is looked up in (peer statistics,
 * earlier decisions, SoD rules); one string keeps its hash. A load of 1,000,000 items has a few hundred
 * distinct keys, and as many access objects: the items of one entitlement share theirs (frozen), which
 * a campaign holds a million of until it is written.
 */
export function createAccessKeys(): AccessKeys {
  const bySystem = new Map<string, Map<string, { key: string; access: ReviewAccess }>>();
  const entry = (system: string, entitlement: string) => {
    let entries = bySystem.get(system);
    if (entries === undefined) {
      entries = new Map();
      bySystem.set(system, entries);
    }
    let e = entries.get(entitlement);
    if (e === undefined) {
      e = {
        key: entitlementKey(system, entitlement),
        access: Object.freeze(entitlementAccess(system, entitlement)),
      };
      entries.set(entitlement, e);
    }
    return e;
  };
  const keys: AccessKeys = (system, entitlement) => entry(system, entitlement).key;
  keys.access = (system, entitlement) => entry(system, entitlement).access;
  return keys;
}

/**
 * The candidate of access held for `lineage`. Its source: birthright (policy) first, then an assignment,
 * then mover grace (written inline: a load makes a million of them).
 */
function candidate(
  access: ReviewAccess,
  accessKey: string,
  lineage: readonly Lineage[],
  privileged: boolean,
  account: ReviewAccount | null,
): CandidateItem {
  let policy = false;
  let assignment: Extract<Lineage, { kind: "assignment" }> | null = null;
  let graceUntil: string | null = null;
  for (const l of lineage) {
    if (l.kind === "assignment") assignment ??= l;
    else if (l.kind === "mover-grace") graceUntil ??= l.until;
    else policy = true;
  }
  // Birthright wins: revoking it needs an exclusion whatever else gives it; the assignment is kept beside.
  const source: ReviewSource = policy
    ? "birthright"
    : assignment !== null
      ? "assignment"
      : graceUntil !== null
        ? "mover-grace"
        : "birthright";
  return {
    access,
    accessKey,
    source,
    assignmentId: assignment?.assignmentId ?? null,
    requestId: assignment?.requestId ?? null,
    graceUntil,
    privileged,
    lineage,
    account,
  };
}

/** Whether `role` or a role it includes grants a privileged entitlement. */
export function rolePrivileged(policy: Policy, role: string): boolean {
  const seen = new Set<string>([role]);
  const queue = [role];
  for (let i = 0; i < queue.length; i++) {
    const def = Object.hasOwn(policy.roles, queue[i]!) ? policy.roles[queue[i]!] : undefined;
    if (def === undefined) continue;
    for (const grant of def.grants) {
      const defs = policy.entitlements[grant.system];
      if (defs !== undefined && grant.entitlements.some((k) => Object.hasOwn(defs, k) && defs[k]!.privileged))
        return true;
    }
    for (const next of def.includes) {
      if (!seen.has(next)) {
        seen.add(next);
        queue.push(next);
      }
    }
  }
  return false;
}

/**
 * Every piece of access the identity holds now: entitlements desired in systems where its account is
 * enabled (birthright, assignments, mover grace), entitlements found on its enabled accounts that
 * nothing desires (source `found`), and, with `withRoles`, the roles it holds.
 */
export function candidatesOf(input: CandidateInput): CandidateItem[] {
  const { policy, desired } = input;
  const keyOf = input.keys ?? entitlementKey;
  const accessOf = input.keys?.access ?? entitlementAccess;
  const out: CandidateItem[] = [];
  const accountOf = new Map<string, ReviewAccount>();
  for (const a of input.accounts) if (!accountOf.has(a.system)) accountOf.set(a.system, a);
  for (const system of Object.values(desired.systems)) {
    if (system.presence !== "enabled") continue;
    const defs = policy.entitlements[system.system];
    const account = accountOf.get(system.system) ?? null;
    for (const key of Object.keys(system.entitlements)) {
      const privileged = defs !== undefined && Object.hasOwn(defs, key) && defs[key]!.privileged;
      out.push(
        candidate(
          accessOf(system.system, key),
          keyOf(system.system, key),
          system.entitlements[key]!,
          privileged,
          account,
        ),
      );
    }
  }
  for (const account of input.accounts) {
    const desiredSystem = desired.systems[account.system];
    const desiredHere =
      desiredSystem !== undefined && desiredSystem.presence === "enabled" ? desiredSystem.entitlements : null;
    const defs = policy.entitlements[account.system];
    for (const key of account.entitlements) {
      if (desiredHere !== null && Object.hasOwn(desiredHere, key)) continue;
      const { system } = account;
      out.push({
        access: accessOf(system, key),
        accessKey: keyOf(system, key),
        source: "found",
        assignmentId: null,
        requestId: null,
        graceUntil: null,
        privileged: defs !== undefined && Object.hasOwn(defs, key) && defs[key]!.privileged,
        lineage: [],
        account,
      });
    }
  }
  if (input.withRoles) {
    for (const [role, lineage] of input.roles) {
      out.push(
        candidate({ kind: "role", role }, `role:${role}`, lineage, rolePrivileged(policy, role), null),
      );
    }
  }
  return out;
}

/** Whether a definition looks at this identity at all: non-human only, and its `where` rule. */
export function identityInScope(
  identity: Pick<Identity, "kind" | "attributes">,
  scope: ReviewScope,
): boolean {
  if (scope.nonHuman && identity.kind === "human") return false;
  return scope.where === null || scope.where.evaluate(identity.attributes).value;
}

/** Whether a candidate is reviewed under `scope`: role items when it names roles, else entitlement items. */
export function itemInScope(item: CandidateItem, scope: ReviewScope): boolean {
  const a = item.access;
  if (scope.roles.length > 0) {
    if (a.kind !== "role" || !scope.roles.includes(a.role)) return false;
  } else {
    if (a.kind !== "entitlement") return false;
    if (scope.systems.length > 0 && !scope.systems.includes(a.system)) return false;
    if (
      scope.entitlements.length > 0 &&
      !scope.entitlements.some((e) => e.system === a.system && e.entitlement === a.entitlement)
    )
      return false;
  }
  if (scope.privilegedOnly && !item.privileged) return false;
  if (scope.requestedOnly && item.source !== "assignment") return false;
  if (scope.keptAfterMove && item.source !== "mover-grace") return false;
  return true;
}

/** The peer group of a person: same department and title; null when either is unknown. */
export function peerGroupOf(attributes: Pick<WorkerAttributes, "department" | "title">): string | null {
  const { department, title } = attributes;
  if (department === null || department === "" || title === null || title === "") return null;
  return `${department}\u0000${title}`;
}

/** What a PeerStats counted: group → its size and, per access key, how many of it hold the key. */
export type PeerCounts = Map<string, { size: number; holders: Map<string, number> }>;

/** How many people are in each peer group and how many of them hold each piece of access. */
export interface PeerStats {
  /** Counts one person of `group` holding `accessKeys` (each key once per person). */
  add(group: string | null, accessKeys: Iterable<string>): void;
  /** What was counted, as plain maps (to be sent to another thread). */
  counts(): PeerCounts;
  /** Adds what another PeerStats counted of other people (`counts()` of it). */
  merge(counts: PeerCounts): void;
  /** The holder's peers (the holder not counted) and how many of them hold `accessKey`; null: no group. */
  peersOf(group: string | null, accessKey: string): { total: number; holding: number } | null;
}

export function createPeerStats(): PeerStats {
  // Per access key of a group: its holders, and the last person (numbered by `add`) counted for it, so a
  // key listed twice for one person counts once without a set per person.
  const groups = new Map<string, { size: number; holders: Map<string, { n: number; last: number }> }>();
  let person = 0;
  return {
    add(group, accessKeys) {
      if (group === null) return;
      let g = groups.get(group);
      if (g === undefined) {
        g = { size: 0, holders: new Map() };
        groups.set(group, g);
      }
      g.size++;
      const me = ++person;
      for (const key of accessKeys) {
        const h = g.holders.get(key);
        if (h === undefined) g.holders.set(key, { n: 1, last: me });
        else if (h.last !== me) {
          h.n++;
          h.last = me;
        }
      }
    },
    counts() {
      const out: PeerCounts = new Map();
      for (const [group, g] of groups) {
        const holders = new Map<string, number>();
        for (const [key, h] of g.holders) holders.set(key, h.n);
        out.set(group, { size: g.size, holders });
      }
      return out;
    },
    merge(counts) {
      for (const [group, other] of counts) {
        let g = groups.get(group);
        if (g === undefined) {
          g = { size: 0, holders: new Map() };
          groups.set(group, g);
        }
        g.size += other.size;
        for (const [key, n] of other.holders) {
          const h = g.holders.get(key);
          // `last` 0: nobody `add` numbers, so a person added later still counts once.
          if (h === undefined) g.holders.set(key, { n, last: 0 });
          else h.n += n;
        }
      }
    },
    peersOf(group, accessKey) {
      if (group === null) return null;
      const g = groups.get(group);
      if (g === undefined) return null;
      const holding = g.holders.get(accessKey)?.n ?? 0;
      // The holder is one of the group and one of its holders: peers are the others.
      return { total: g.size - 1, holding: Math.max(0, holding - 1) };
    },
  };
}
