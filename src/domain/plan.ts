import { hash } from "node:crypto";
import {
  type Account,
  type DesiredAccess,
  type DesiredSystemAccess,
  type Lineage,
  OPERATION_KINDS,
  type OperationKind,
  type PlannedOperation,
  type Policy,
  type SystemDef,
} from "./access-types.js";
import { describeGrant, lifecycleNote } from "./lineage-format.js";
import { indexPolicy, type PolicyIndex } from "./policy-index.js";

/** Something the planner could not turn into operations; the plan goes on without it. */
export interface PlanProblem {
  /**
   * `username-taken`: a new account's name is taken and the collision rule is `fail`;
   * `username-empty`: the template renders nothing usable; `linked-username-held`: the username linked
   * to the identity belongs to a live account correlated to someone else or to nobody (an orphan),
   * which Tenure will not take over — reconcile or an administrator must settle who owns it;
   * `system-unread`: a system Tenure has never read could not be read, so nothing is planned for it yet;
   * `rule-failed`: a birthright rule could not be evaluated for the identity (its evaluation budget ran
   * out), so nothing is planned for that identity — its access is left as it is; `system` is empty;
   * `sod-withheld`: new birthright access that would break a separation-of-duties rule is kept out of
   * the plan (`sod.onBirthrightConflict: withhold`) until an exception is approved.
   */
  kind:
    | "username-taken"
    | "username-empty"
    | "linked-username-held"
    | "system-unread"
    | "rule-failed"
    | "sod-withheld";
  identityId: string | null;
  system: string;
  username: string | null;
  message: string;
}

const KIND_ORDER: Readonly<Record<OperationKind, number>> = Object.fromEntries(
  OPERATION_KINDS.map((kind, i) => [kind, i]),
) as Record<OperationKind, number>;
const NO_KEYS: readonly string[] = Object.freeze([]);
const NO_LINEAGE: readonly Lineage[] = Object.freeze([]);
const NOTHING: Readonly<Record<string, Lineage[]>> = Object.freeze(Object.create(null));

/** The strings in ascending order; `list` itself when it already is, which is the usual case. */
function sorted(list: string[]): string[] {
  for (let i = 1; i < list.length; i++) if (list[i - 1]! > list[i]!) return list.sort();
  return list;
}

/** `6:admins`: length-prefixed, so no value can run into the next field whatever characters it holds. */
function field(value: string | null): string {
  return value === null ? "~" : `${value.length}:${value}`;
}

/**
 * The idempotency key of an operation: hex SHA-256 over `system|kind|username|entitlement|attributes|enabled`,
 * free-text fields length-prefixed and attributes in key order, so equal changes always hash alike.
 * Independent of identity, lineage and reason: the same change planned twice gets the same key.
 */
export function idempotencyKey(
  op: Pick<PlannedOperation, "system" | "kind" | "username" | "entitlement" | "attributes" | "enabled">,
): string {
  return keyOf(field(op.system), op.kind, field(op.username), op.entitlement, op.attributes, op.enabled);
}

/** idempotencyKey with the system and username fields already encoded (the planner reuses them). */
function keyOf(
  systemField: string,
  kind: OperationKind,
  usernameField: string,
  entitlement: string | null,
  attributes: Readonly<Record<string, string | null>> | null,
  enabled: boolean | null,
): string {
  let encoded = "~";
  if (attributes !== null) {
    encoded = "";
    for (const key of sorted(Object.keys(attributes)))
      encoded += `${field(key)}=${field(attributes[key] ?? null)};`;
  }
  const flag = enabled === null ? "~" : enabled ? "1" : "0";
  return hash(
    "sha256",
    `${systemField}|${kind}|${usernameField}|${field(entitlement)}|${encoded}|${flag}`,
    "hex",
  );
}

/** Who an operation acts on; one per (identity, system) so building operations allocates no closure. */
interface Target {
  ops: PlannedOperation[];
  system: string;
  identityId: string | null;
  username: string;
  nativeId: string | null;
  /** `field(system)` and `field(username)`, encoded once for all of the target's keys. */
  systemField: string;
  usernameField: string;
}

function target(
  ops: PlannedOperation[],
  system: string,
  identityId: string | null,
  username: string,
  nativeId: string | null,
): Target {
  return {
    ops,
    system,
    identityId,
    username,
    nativeId,
    systemField: field(system),
    usernameField: field(username),
  };
}

/*
 * Reasons name no username (the operation carries it), so the common ones repeat across identities.
 * Role lineages are objects shared by every identity holding the role, so a sentence is built once per
 * (lineage, system, entitlement) and shared: a full plan of a large organisation then holds a few
 * hundred reason strings instead of one per operation. Weakly held: a dropped policy frees them.
 */
const grantReasons = new WeakMap<Lineage, Map<string, Map<string, string>>>();
const createReasons = new WeakMap<Lineage, Map<string, string[]>>();

function buildGrantReason(system: string, entitlement: string, lineage: readonly Lineage[]): string {
  return `Grant ${system}:${entitlement}, ${because(lineage, "desired by policy")}.`;
}

function grantReason(system: string, entitlement: string, lineage: readonly Lineage[]): string {
  if (lineage.length !== 1) return buildGrantReason(system, entitlement, lineage);
  let bySystem = grantReasons.get(lineage[0]!);
  if (bySystem === undefined) {
    bySystem = new Map();
    grantReasons.set(lineage[0]!, bySystem);
  }
  let byEntitlement = bySystem.get(system);
  if (byEntitlement === undefined) {
    byEntitlement = new Map();
    bySystem.set(system, byEntitlement);
  }
  let reason = byEntitlement.get(entitlement);
  if (reason === undefined) {
    reason = buildGrantReason(system, entitlement, lineage);
    byEntitlement.set(entitlement, reason);
  }
  return reason;
}

function createReason(system: string, desired: DesiredSystemAccess, vanished: boolean): string {
  const lineage = desired.presenceLineage;
  if (vanished) {
    return `Recreate the account in ${system}, deleted outside Tenure (drift: enforce); ${because(lineage, "desired by policy")}.`;
  }
  const note = lifecycleNote(lineage);
  if (note !== null || lineage.length === 0) {
    const state = desired.presence === "enabled" ? "an enabled" : "a disabled";
    return `Create ${state} account in ${system}, ${because(lineage, "desired by policy")}${note === null ? "" : `; ${note}`}.`;
  }
  // No lifecycle note: enabled, and the sentence depends on the first lineage and how many follow.
  let bySystem = createReasons.get(lineage[0]!);
  if (bySystem === undefined) {
    bySystem = new Map();
    createReasons.set(lineage[0]!, bySystem);
  }
  let byCount = bySystem.get(system);
  if (byCount === undefined) {
    byCount = [];
    bySystem.set(system, byCount);
  }
  let reason = byCount[lineage.length];
  if (reason === undefined) {
    reason = `Create an enabled account in ${system}, ${because(lineage, "desired by policy")}.`;
    byCount[lineage.length] = reason;
  }
  return reason;
}

function emit(
  target: Target,
  kind: OperationKind,
  entitlement: string | null,
  attributes: Record<string, string | null> | null,
  enabled: boolean | null,
  lineage: readonly Lineage[],
  reason: string,
  drift: boolean,
): void {
  const op: PlannedOperation = {
    system: target.system,
    kind,
    identityId: target.identityId,
    username: target.username,
    nativeId: target.nativeId,
    entitlement,
    attributes,
    enabled,
    lineage: lineage as Lineage[],
    reason,
    idempotencyKey: "",
    drift,
  };
  op.idempotencyKey = keyOf(target.systemField, kind, target.usernameField, entitlement, attributes, enabled);
  target.ops.push(op);
}

/** enable, disable, delete: operations on the account as a whole. */
function emitAccount(
  target: Target,
  kind: "enable" | "disable" | "delete",
  lineage: readonly Lineage[],
  reason: string,
): void {
  emit(target, kind, null, null, null, lineage, reason, false);
}

function emitEntitlement(
  target: Target,
  kind: "grant" | "revoke",
  entitlement: string,
  lineage: readonly Lineage[],
  reason: string,
  drift: boolean,
): void {
  emit(target, kind, entitlement, null, null, lineage, reason, drift);
}

function because(lineages: readonly Lineage[], fallback: string): string {
  const grant = describeGrant(lineages);
  return grant === "" ? fallback : `granted by ${grant}`;
}

export function has(record: Readonly<Record<string, unknown>>, key: string): boolean {
  return Object.hasOwn(record, key);
}

export function isGoneAccount(account: Account): boolean {
  return account.vanishedAt !== undefined && account.vanishedAt !== null;
}

function accountScore(account: Account, desiredUsername: string | null): number {
  return (isGoneAccount(account) ? 0 : 2) + (account.username === desiredUsername ? 1 : 0);
}

/** The account an identity has in one system; with several, the live one named as desired wins. */
function pickAccount(
  current: Account | undefined,
  candidate: Account,
  desiredUsername: string | null,
): Account {
  if (current === undefined) return candidate;
  return accountScore(candidate, desiredUsername) > accountScore(current, desiredUsername)
    ? candidate
    : current;
}

function planNewAccount(
  ops: PlannedOperation[],
  identityId: string,
  def: SystemDef,
  desired: DesiredSystemAccess,
  vanished: boolean,
): void {
  const system = def.name;
  const to = target(ops, system, identityId, desired.username!, null);
  const enabled = desired.presence === "enabled";
  const reason = createReason(system, desired, vanished);
  emit(to, "create", null, desired.attributes, enabled, desired.presenceLineage, reason, vanished);
  for (const entitlement of sorted(Object.keys(desired.entitlements))) {
    const lineage = desired.entitlements[entitlement]!;
    emitEntitlement(to, "grant", entitlement, lineage, grantReason(system, entitlement, lineage), false);
  }
}

function planSystem(
  ops: PlannedOperation[],
  identityId: string,
  def: SystemDef,
  desired: DesiredSystemAccess | undefined,
  account: Account | undefined,
  privileged: ReadonlySet<string>,
  employment: number,
): void {
  const system = def.name;
  const presence = desired?.presence ?? "absent";
  const enforce = def.drift === "enforce";

  if (account === undefined || isGoneAccount(account)) {
    if (presence === "absent" || desired === undefined || desired.username === null) return;
    // A leaver's account is kept while it exists, never made: no access for someone who already left.
    if (desired.retainOnly === true) return;
    // Tenure's own account deleted out of band is drift: put back only where the system says enforce.
    const vanished = account?.managed === true;
    if (vanished && !enforce) return;
    planNewAccount(ops, identityId, def, desired, vanished);
    return;
  }

  const to = target(ops, system, identityId, account.username, account.nativeId);
  const presenceLineage = desired?.presenceLineage ?? NO_LINEAGE;
  const stopReason =
    lifecycleNote(presenceLineage) ?? `no role or assignment grants an account in ${system} any more`;

  // A leaver is cut off first, before any slower clean-up can fail half-way.
  if (account.enabled && presence !== "enabled") {
    emitAccount(to, "disable", presenceLineage, `Disable the account in ${system}: ${stopReason}.`);
  }

  const deleting = presence === "absent" && account.managed;
  const wanted = presence === "absent" || desired === undefined ? NOTHING : desired.entitlements;
  const withheld = desired?.withheld ?? NOTHING;
  const held = sorted([...account.entitlements]);
  for (const entitlement of held) {
    if (has(wanted, entitlement)) continue;
    const label = `${system}:${entitlement}`;
    if (deleting) {
      const lineage = has(withheld, entitlement) ? withheld[entitlement]! : presenceLineage;
      const why = `Revoke ${label} before the account is deleted: ${stopReason}.`;
      emitEntitlement(to, "revoke", entitlement, lineage, why, false);
    } else if (has(withheld, entitlement)) {
      const lineage = withheld[entitlement]!;
      const why = lifecycleNote(lineage) ?? "withheld by lifecycle policy";
      emitEntitlement(to, "revoke", entitlement, lineage, `Revoke ${label}: ${why}.`, false);
    } else if (account.managedEntitlements.includes(entitlement)) {
      const why = `Revoke ${label}: no role or assignment grants it any more.`;
      emitEntitlement(to, "revoke", entitlement, NO_LINEAGE, why, false);
    } else if (enforce) {
      const why = `Revoke ${label}: granted outside Tenure and ${system} enforces drift.`;
      emitEntitlement(to, "revoke", entitlement, NO_LINEAGE, why, true);
    } else if (presence !== "enabled" && privileged.has(entitlement)) {
      // drift: report must not leave privileged access on an account that is out of use (a leaver's).
      const why = `Revoke privileged ${label}, granted outside Tenure: the account is not in use (${stopReason}).`;
      emitEntitlement(to, "revoke", entitlement, presenceLineage, why, true);
    }
  }

  if (presence === "absent" || desired === undefined) {
    if (deleting)
      emitAccount(to, "delete", presenceLineage, `Delete the account in ${system}: ${stopReason}.`);
    return;
  }

  let changes: Record<string, string | null> | null = null;
  for (const key of Object.keys(desired.attributes)) {
    const want = desired.attributes[key] ?? null;
    const have = has(account.attributes, key) ? (account.attributes[key] ?? null) : null;
    if (want !== have) {
      changes ??= {};
      changes[key] = want;
    }
  }
  if (changes !== null) {
    const why = `Update ${Object.keys(changes).join(", ")} in ${system} to match the account template.`;
    emit(to, "update", null, changes, null, presenceLineage, why, false);
  }

  // A leaver keeps what retention keeps; nothing is added to an account out of use.
  const granting = desired.retainOnly === true ? NO_KEYS : sorted(Object.keys(desired.entitlements));
  for (const entitlement of granting) {
    if (account.entitlements.includes(entitlement)) continue;
    const lineage = desired.entitlements[entitlement]!;
    const label = `${system}:${entitlement}`;
    if (account.managedEntitlements.includes(entitlement)) {
      // Tenure granted it and someone removed it out of band: drift.
      if (enforce) {
        const why = `Grant ${label} again: removed outside Tenure and ${system} enforces drift.`;
        emitEntitlement(to, "grant", entitlement, lineage, why, true);
      }
    } else {
      emitEntitlement(to, "grant", entitlement, lineage, grantReason(system, entitlement, lineage), false);
    }
  }

  if (presence === "enabled" && !account.enabled) {
    // A rehire never gets an earlier employment's password back: a new one first, as a joiner gets.
    if (def.setsCredentials === true && (account.credentialEmployment ?? 1) < employment) {
      const why = `Set a new password for the account in ${system} before it is enabled again: employment ${employment} (rehired) never gets an earlier employment's password back.`;
      emit(to, "rotate", null, null, null, presenceLineage, why, false);
    }
    const why = `Enable the account in ${system}, ${because(presenceLineage, "desired by policy")}.`;
    emitAccount(to, "enable", presenceLineage, why);
  }
}

/**
 * The operations that make one identity's accounts match its desired access. Pure and deterministic.
 *
 * `actual` is this identity's accounts (others are ignored), including rows reconcile kept for managed
 * accounts that vanished. Usernames of new accounts are taken from `desired` as they are: uniqueness
 * within a system is the caller's job (`planAll` allocates). Systems not in the policy are skipped.
 *
 * Order: every `disable` first (a leaver is cut off before anything else), then revoke, create, update,
 * grant, rotate (a rehire's new password, before the account is usable again), enable, delete — the
 * order of OPERATION_KINDS; within a kind, policy order of systems, then
 * entitlement keys sorted.
 */
export function planIdentity(
  desired: DesiredAccess,
  actual: readonly Account[],
  policy: Policy,
): PlannedOperation[] {
  return planInto(desired, actual, indexPolicy(policy));
}

/** planIdentity with the policy already indexed (planAll indexes it once for everyone). */
export function planInto(
  desired: DesiredAccess,
  actual: readonly Account[],
  index: PolicyIndex,
): PlannedOperation[] {
  const ops: PlannedOperation[] = [];
  const employment = desired.employment ?? 1;
  for (const def of index.systems) {
    const system = def.name;
    const wanted = has(desired.systems, system) ? desired.systems[system] : undefined;
    let account: Account | undefined;
    for (const candidate of actual) {
      if (candidate.system !== system) continue;
      if (candidate.identityId !== null && candidate.identityId !== desired.identityId) continue;
      account = pickAccount(account, candidate, wanted?.username ?? null);
    }
    if (wanted === undefined && account === undefined) continue;
    planSystem(ops, desired.identityId, def, wanted, account, index.privileged.get(system)!, employment);
  }
  return byKind(ops);
}

const kindCounts = new Int32Array(OPERATION_KINDS.length + 1);

/**
 * Operations in OPERATION_KINDS order, stable: within a kind the system and entitlement order of
 * insertion is kept. A counting sort, as an identity has few operations and only eight kinds.
 */
function byKind(ops: PlannedOperation[]): PlannedOperation[] {
  if (ops.length < 2) return ops;
  let ordered = true;
  for (let i = 1; i < ops.length && ordered; i++)
    ordered = KIND_ORDER[ops[i - 1]!.kind] <= KIND_ORDER[ops[i]!.kind];
  if (ordered) return ops;
  kindCounts.fill(0);
  for (const op of ops) kindCounts[KIND_ORDER[op.kind] + 1]!++;
  for (let k = 1; k < kindCounts.length; k++) kindCounts[k]! += kindCounts[k - 1]!;
  const out: PlannedOperation[] = new Array(ops.length);
  for (const op of ops) out[kindCounts[KIND_ORDER[op.kind]]!++] = op;
  return out;
}

/**
 * Operations on orphans (accounts with no identity): a `disable` (drift: true) for an enabled orphan in
 * a system whose `orphans` policy is `disable`; nothing otherwise — reconcile reports them.
 */
export function planOrphans(accounts: readonly Account[], policy: Policy): PlannedOperation[] {
  const index = indexPolicy(policy);
  const orphans = accounts.filter(
    (a) =>
      a.identityId === null &&
      a.enabled &&
      !isGoneAccount(a) &&
      policy.systems[a.system]?.orphans === "disable",
  );
  orphans.sort(
    (a, b) =>
      index.order.get(a.system)! - index.order.get(b.system)! ||
      (a.username < b.username ? -1 : a.username > b.username ? 1 : 0),
  );
  const ops: PlannedOperation[] = [];
  for (const a of orphans) {
    const to = target(ops, a.system, null, a.username, a.nativeId);
    const why = `Disable an orphan account in ${a.system}: it belongs to no identity and ${a.system} disables orphans.`;
    emit(to, "disable", null, null, null, NO_LINEAGE, why, true);
  }
  return ops;
}
