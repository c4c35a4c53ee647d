import type { Lineage } from "../domain/access-types.js";
import { describeGrant, lifecycleNote } from "../domain/lineage-format.js";
import { ACCOUNT_RECORDED, ACCOUNT_REMOVED, type JournaledAccount } from "./account-journal-types.js";

/*
 * The pure half of point-in-time access: the state the ledger describes, advanced one event at a time.
 * point-in-time.ts reads the events (from a checkpoint, see access-checkpoints.ts) and feeds them here in
 * seq order; nothing here reads the database or the clock.
 */

/** An account as the target confirmed it, with since when each part of it has held without a break. */
export interface AccountAt extends JournaledAccount {
  /** When the account was first recorded for its current holder (a re-correlation starts again). */
  since: string;
  /** When it was last enabled, while it stays enabled; null when disabled or vanished. */
  enabledSince: string | null;
  /** Each held entitlement → when it was first confirmed for the current holder. */
  entitlementSince: Record<string, string>;
  /** The journal event this state comes from. */
  seq: number;
  time: string;
  /** The operation id, `reconcile` or `checkpoint` (account-journal-types.ts). */
  cause: string;
}

/** What Tenure last asked of an account or one of its entitlements, from its operations' events. */
export interface DesiredAt {
  system: string;
  username: string;
  /** Null: the account itself. */
  entitlement: string | null;
  identityId: string | null;
  /** For an entitlement: granted. For an account: enabled (create, enable) — `disable` and `delete` are not. */
  wanted: boolean;
  /** The operation's kind: create, enable, disable, delete, grant, revoke. */
  kind: string;
  /** Why, in words: the lineage of the operation (role, assignment, lifecycle note) or its reason. */
  why: string;
  operationId: string;
  /** `operation.queued` (asked) or `operation.succeeded` (done). */
  stage: "queued" | "succeeded";
  seq: number;
  time: string;
}

/** The replayed state: accounts and desires, each keyed by account (and entitlement). */
export interface ReplayState {
  accounts: Map<string, AccountAt>;
  desired: Map<string, DesiredAt>;
}

/** One event as replay reads it. */
export interface ReplayEvent {
  seq: number;
  time: string;
  action: string;
  details: Record<string, unknown>;
}

export const OPERATION_ACTIONS = ["operation.queued", "operation.succeeded"] as const;

const DESIRE_KINDS = new Set(["create", "enable", "disable", "delete", "grant", "revoke"]);

export function emptyReplay(): ReplayState {
  return { accounts: new Map(), desired: new Map() };
}

export function accountKey(system: string, username: string): string {
  return `${system}\u0000${username}`;
}

export function desireKey(system: string, username: string, entitlement: string | null): string {
  return `${system}\u0000${username}\u0000${entitlement ?? ""}`;
}

/** Advances `state` by one event; events of other actions are ignored. Events must come in seq order. */
export function replayEvent(state: ReplayState, e: ReplayEvent): void {
  if (e.action === ACCOUNT_RECORDED) recordAccount(state, e);
  else if (e.action === ACCOUNT_REMOVED) {
    state.accounts.delete(accountKey(String(e.details.system), String(e.details.username)));
  } else if (e.action === "operation.queued" || e.action === "operation.succeeded") recordDesire(state, e);
}

// Hot: a checkpoint from the first event runs this for every journal event of the ledger (millions), so
// it builds the one object it stores, with no intermediate copies (they were most of its time and garbage).
function recordAccount(state: ReplayState, e: ReplayEvent): void {
  const d = e.details;
  const system = String(d.system);
  const username = String(d.username);
  const identityId = (d.identityId ?? null) as string | null;
  const enabled = d.enabled === true;
  const vanished = d.vanished === true;
  const entitlements = Array.isArray(d.entitlements) ? (d.entitlements.slice() as string[]) : [];
  const key = accountKey(system, username);
  const prev = state.accounts.get(key);
  // Continuity: the same holder, and the account present (not vanished) before and after.
  const continues = prev !== undefined && !prev.vanished && !vanished && prev.identityId === identityId;
  const entitlementSince: Record<string, string> = {};
  for (const entitlement of entitlements) {
    entitlementSince[entitlement] = (continues ? prev.entitlementSince[entitlement] : undefined) ?? e.time;
  }
  state.accounts.set(key, {
    system,
    username,
    nativeId: (d.nativeId ?? null) as string | null,
    identityId,
    enabled,
    entitlements,
    vanished,
    since: continues ? prev.since : e.time,
    enabledSince: enabled && !vanished ? (continues && prev.enabledSince) || e.time : null,
    entitlementSince,
    seq: e.seq,
    time: e.time,
    cause: String(d.cause ?? ""),
  });
}

function recordDesire(state: ReplayState, e: ReplayEvent): void {
  const d = e.details;
  const kind = String(d.kind);
  if (!DESIRE_KINDS.has(kind)) return;
  const system = String(d.system);
  const username = String(d.username);
  const entitlement = kind === "grant" || kind === "revoke" ? String(d.entitlement) : null;
  const lineage = (Array.isArray(d.lineage) ? d.lineage : []) as Lineage[];
  const why = describeGrant(lineage) || lifecycleNote(lineage) || String(d.reason ?? "") || kind;
  state.desired.set(desireKey(system, username, entitlement), {
    system,
    username,
    entitlement,
    identityId: (d.identity ?? null) as string | null,
    wanted: kind === "grant" || kind === "create" || kind === "enable",
    kind,
    why,
    operationId: String(d.operationId),
    stage: e.action === "operation.queued" ? "queued" : "succeeded",
    seq: e.seq,
    time: e.time,
  });
}

/** The journal state of an account, without the bookkeeping replay adds (for comparing with a snapshot). */
export function journaledOf(a: AccountAt): JournaledAccount {
  return {
    system: a.system,
    username: a.username,
    nativeId: a.nativeId,
    identityId: a.identityId,
    enabled: a.enabled,
    entitlements: a.entitlements,
    vanished: a.vanished,
  };
}
