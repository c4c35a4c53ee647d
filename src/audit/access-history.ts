import { identityRepository } from "../store/identity-repository.js";
import type { Db } from "../store/schema-types.js";
import { type AccountAt, accountKey, type DesiredAt, desireKey, type ReplayState } from "./access-replay.js";
import {
  type AssignmentAt,
  assignmentsAt,
  type IdentityAt,
  identityAt,
  resolveIdentityAt,
} from "./identity-history.js";
import { compareText, type ReplayOptions, type ReplaySource, replayAt } from "./point-in-time.js";

/*
 * The two point-in-time questions (docs/audit.md): who had an access of a system at T, and what one
 * identity had at T. Each row is one (identity, system, entitlement) — entitlement null for the account
 * itself — saying what the target confirmed (the account journal) and what Tenure wanted (its
 * operations' lineage, or an assignment in force), so "desired but never confirmed" and "held but never
 * asked for" both show.
 */

/** What the target held: from the account journal. */
export interface Confirmed {
  held: boolean;
  /** The account's enabled flag (an entitlement on a disabled account is held but not usable). */
  enabled: boolean | null;
  /** Held without a break since then (for the same holder). */
  since: string | null;
  /** The journal event of the account's state, and its cause (an operation id, `reconcile`…). */
  seq: number | null;
  cause: string | null;
}

/** What Tenure wanted: the last operation it queued or applied for this, or an assignment in force. */
export interface Desired {
  wanted: boolean;
  why: string;
  source: "operation" | "assignment" | "none";
  /** For an operation: `queued` (asked) or `succeeded` (done); its kind (grant, revoke, disable…). */
  stage: "queued" | "succeeded" | null;
  kind: string | null;
  at: string | null;
  seq: number | null;
}

export interface AccessRow {
  identityId: string | null;
  system: string;
  /** Null for an assignment whose identity had no account in the system then. */
  username: string | null;
  /** Null: the account itself. */
  entitlement: string | null;
  confirmed: Confirmed;
  desired: Desired;
}

export interface WhoHadAnswer {
  system: string;
  entitlement: string | null;
  at: string;
  source: ReplaySource;
  rows: AccessRow[];
  /** The identities named in rows: their key and name as they are now (see `tenure audit access` for then). */
  identities: Record<string, { key: string; name: string | null }>;
}

export interface AccessAnswer {
  at: string;
  identity: IdentityAt & { name: string | null };
  source: ReplaySource;
  /** Each row with the employment its confirmed access began in: after a rehire, an older one is not the new employment's. */
  rows: Array<AccessRow & { employment: number | null }>;
  /** Every assignment recorded for the identity by then, in force or not. */
  assignments: AssignmentAt[];
}

const NOT_HELD: Confirmed = { held: false, enabled: null, since: null, seq: null, cause: null };
const NOT_ASKED: Desired = {
  wanted: false,
  why: "no operation or assignment in the ledger asked for it",
  source: "none",
  stage: null,
  kind: null,
  at: null,
  seq: null,
};

/** Who held an access (or any access) of `system` at `at`, and who was meant to. */
export async function whoHad(
  db: Db,
  query: { system: string; entitlement?: string; at: Date },
  options: Pick<ReplayOptions, "useCheckpoints"> = {},
): Promise<WhoHadAnswer> {
  const { state, source } = await replayAt(db, query.at, {
    ...options,
    system: query.system,
    entitlement: query.entitlement,
  });
  const atIso = query.at.toISOString();
  const assignments = (await assignmentsAt(db, atIso, source.cutSeq)).filter(
    (a) => a.inForce && "system" in a.target && a.target.system === query.system,
  );
  const rows = accessRows(state, assignments, { system: query.system, entitlement: query.entitlement });
  const ids = [...new Set(rows.flatMap((r) => (r.identityId === null ? [] : [r.identityId])))];
  const found = await identityRepository.findByIds(db, ids);
  const identities: WhoHadAnswer["identities"] = {};
  for (const [id, i] of found) identities[id] = { key: i.sourceKey, name: i.attributes.displayName ?? null };
  return {
    system: query.system,
    entitlement: query.entitlement ?? null,
    at: atIso,
    source,
    rows,
    identities,
  };
}

/**
 * Everything one identity held, and was meant to hold, at `at`. `identity` is an id, an HR key as it
 * was then (or is now), or an email.
 * @throws NotFoundError when no identity matches.
 */
export async function accessAt(
  db: Db,
  query: { identity: string; at: Date },
  options: Pick<ReplayOptions, "useCheckpoints"> = {},
): Promise<AccessAnswer> {
  const { state, source } = await replayAt(db, query.at, options);
  const atIso = query.at.toISOString();
  const id = await resolveIdentityAt(db, query.identity, source.cutSeq);
  const identity = await identityAt(db, id, source.cutSeq);
  const assignments = await assignmentsAt(db, atIso, source.cutSeq, { identityId: id });
  const rows = accessRows(
    state,
    assignments.filter((a) => a.inForce),
    { identityId: id },
  ).map((r) => ({ ...r, employment: employmentAt(identity, r.confirmed.since ?? r.desired.at) }));
  const name = identity.attributes.displayName;
  return {
    at: atIso,
    identity: { ...identity, name: typeof name === "string" ? name : null },
    source,
    rows,
    assignments,
  };
}

/** The employment an instant falls in (null for none). */
function employmentAt(identity: IdentityAt, at: string | null): number | null {
  if (at === null) return null;
  let employment: number | null = null;
  for (const e of identity.employments) if (e.from <= at) employment = e.employment;
  return employment ?? identity.employments[0]?.employment ?? null;
}

/** The rows of a replayed state, narrowed to a system (and entitlement) or an identity. */
export function accessRows(
  state: ReplayState,
  assignments: readonly AssignmentAt[],
  filter: { system?: string; entitlement?: string | undefined; identityId?: string },
): AccessRow[] {
  const rows = new Map<string, AccessRow>();
  const matches = (system: string, identityId: string | null, entitlement: string | null) =>
    (filter.system === undefined || system === filter.system) &&
    (filter.identityId === undefined || identityId === filter.identityId) &&
    (filter.entitlement === undefined || entitlement === filter.entitlement);

  const accountsOf = new Map<string, AccountAt>();
  for (const a of state.accounts.values()) {
    if (a.vanished) continue;
    if (a.identityId !== null) accountsOf.set(`${a.identityId}\u0000${a.system}`, a);
    if (matches(a.system, a.identityId, null)) {
      rows.set(desireKey(a.system, a.username, null), {
        identityId: a.identityId,
        system: a.system,
        username: a.username,
        entitlement: null,
        confirmed: { held: true, enabled: a.enabled, since: a.since, seq: a.seq, cause: a.cause },
        desired: NOT_ASKED,
      });
    }
    for (const e of a.entitlements) {
      if (!matches(a.system, a.identityId, e)) continue;
      rows.set(desireKey(a.system, a.username, e), {
        identityId: a.identityId,
        system: a.system,
        username: a.username,
        entitlement: e,
        confirmed: {
          held: true,
          enabled: a.enabled,
          since: a.entitlementSince[e] ?? a.since,
          seq: a.seq,
          cause: a.cause,
        },
        desired: NOT_ASKED,
      });
    }
  }
  for (const d of state.desired.values()) {
    const key = desireKey(d.system, d.username, d.entitlement);
    const row = rows.get(key);
    if (row !== undefined) {
      row.desired = fromOperation(d);
      continue;
    }
    // Who the operation was for, unless the account is someone else's now.
    const holder = state.accounts.get(accountKey(d.system, d.username));
    const identityId = holder !== undefined && !holder.vanished ? holder.identityId : d.identityId;
    if (!d.wanted || !matches(d.system, identityId, d.entitlement)) continue;
    rows.set(key, {
      identityId,
      system: d.system,
      username: d.username,
      entitlement: d.entitlement,
      confirmed: NOT_HELD,
      desired: fromOperation(d),
    });
  }
  for (const a of assignments) {
    if (!a.inForce || !("system" in a.target)) continue;
    const { system, entitlement } = a.target;
    if (!matches(system, a.identityId, entitlement)) continue;
    const account = accountsOf.get(`${a.identityId}\u0000${system}`);
    const key =
      account === undefined
        ? `${a.identityId}\u0000${system}\u0000${entitlement}`
        : desireKey(system, account.username, entitlement);
    const row = rows.get(key);
    const desired = fromAssignment(a);
    if (row === undefined) {
      rows.set(key, {
        identityId: a.identityId,
        system,
        username: account?.username ?? null,
        entitlement,
        confirmed: NOT_HELD,
        desired,
      });
    } else if (!row.desired.wanted && (row.desired.seq === null || row.desired.seq < a.seq)) {
      row.desired = desired;
    }
  }
  return [...rows.values()].sort(
    (x, y) =>
      compareText(x.identityId ?? "", y.identityId ?? "") ||
      compareText(x.system, y.system) ||
      compareText(x.username ?? "", y.username ?? "") ||
      compareText(x.entitlement ?? "", y.entitlement ?? ""),
  );
}

function fromOperation(d: DesiredAt): Desired {
  return {
    wanted: d.wanted,
    why: `${d.kind} ${d.stage === "queued" ? "queued" : "applied"}: ${d.why}`,
    source: "operation",
    stage: d.stage,
    kind: d.kind,
    at: d.time,
    seq: d.seq,
  };
}

function fromAssignment(a: AssignmentAt): Desired {
  return {
    wanted: true,
    why: `assignment ${a.id}${a.request === null ? "" : ` (request ${a.request})`}${a.validUntil === null ? "" : ` until ${a.validUntil}`}${a.approvedBy === null ? "" : `, approved by ${a.approvedBy}`}`,
    source: "assignment",
    stage: null,
    kind: null,
    at: a.validFrom,
    seq: a.seq,
  };
}
