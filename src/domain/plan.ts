import { hash } from "node:crypto";
import {
  type AccessExclusion,
  type Account,
  type Assignment,
  type DesiredAccess,
  type DesiredSystemAccess,
  type Lineage,
  OPERATION_KINDS,
  type OperationKind,
  type PlannedOperation,
  type Policy,
  type RuleFailure,
  type SystemDef,
} from "./access-types.js";
import { calculatorFor, type DesiredStateCalculator, type DesiredStateContext } from "./desired-state.js";
import { type DormantHold, holdDormant } from "./dormant-hold.js";
import type { Identity, IsoDate } from "./identity-types.js";
import type { LifecycleConfig } from "./lifecycle-settings.js";
import { describeGrant, formatLocation, lifecycleNote } from "./lineage-format.js";
import { indexPolicy, type PolicyIndex } from "./policy-index.js";
import { type SodWithheld, withholdConflicts } from "./sod-withhold.js";
import { allocateUsername } from "./username-template.js";

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

function has(record: Readonly<Record<string, unknown>>, key: string): boolean {
  return Object.hasOwn(record, key);
}

function isGoneAccount(account: Account): boolean {
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

function planInto(
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

/** One identity that needs a new username in a system. `base` is the rendered template (null: empty). */
export interface UsernameCandidate {
  identityId: string;
  base: string | null;
}

/**
 * Gives each candidate a username in one system, deterministically: candidates in identity-id order,
 * each taking its base when free, else by the collision rule (`suffix`: base2, base3 …; `fail`: no
 * username and a problem). `taken` is every username already used in the system (accounts of anyone,
 * orphans, vanished rows, links); it is not modified. Never throws.
 */
export function allocateUsernames(input: {
  system: string;
  collision: "suffix" | "fail";
  candidates: readonly UsernameCandidate[];
  taken: ReadonlySet<string>;
}): { assigned: Map<string, string>; problems: PlanProblem[] } {
  const allocator = createAllocator(input.system, input.collision, new Set(input.taken));
  const assigned = new Map<string, string>();
  const problems: PlanProblem[] = [];
  for (const { identityId, base } of [...input.candidates].sort((a, b) =>
    compareIds(a.identityId, b.identityId),
  )) {
    const result = allocateNext(allocator, identityId, base);
    if (typeof result === "string") assigned.set(identityId, result);
    else problems.push(result);
  }
  return { assigned, problems };
}

function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The usernames of one system as allocation proceeds: those taken, and the next suffix per base. */
interface Allocator {
  system: string;
  collision: "suffix" | "fail";
  /** Owned by the allocator: every name it hands out is added. */
  taken: Set<string>;
  // So a thousand John Smiths cost a thousand checks, not half a million.
  nextSuffix: Map<string, number>;
}

function createAllocator(system: string, collision: "suffix" | "fail", taken: Set<string>): Allocator {
  return { system, collision, taken, nextSuffix: new Map() };
}

/** The next name for `identityId`, or the problem that stops it. Callers go in identity-id order. */
function allocateNext(
  allocator: Allocator,
  identityId: string,
  base: string | null,
  /** How the message names the identity: its id, and its HR key where the caller knows it. */
  who: string = identityId,
): string | PlanProblem {
  const { system, taken } = allocator;
  const result = allocateUsername(
    base ?? "",
    taken,
    allocator.collision,
    allocator.nextSuffix.get(base ?? "") ?? 2,
  );
  if (!result.ok) {
    return {
      kind: result.reason === "empty" ? "username-empty" : "username-taken",
      identityId,
      system,
      username: base,
      message: `${system}: no account for identity ${who}: ${result.message}`,
    };
  }
  taken.add(result.username);
  if (result.username !== base) {
    allocator.nextSuffix.set(base!, Number(result.username.slice(base!.length)) + 1);
  }
  return result.username;
}

/** Input of `planAll`: everything the plan of a whole organisation depends on. */
export interface PlanAllInput {
  policy: Policy;
  lifecycle: LifecycleConfig;
  identities: readonly Identity[];
  /** Every assignment (or by identity id); inactive ones and other employments' are ignored. */
  assignments: readonly Assignment[] | ReadonlyMap<string, readonly Assignment[]>;
  /** Review exclusions in force (see DesiredStateInput.exclusions); other employments' are ignored. Absent: none. */
  exclusions?: readonly AccessExclusion[];
  /** Every known account in every system: identities', orphans (identityId null), vanished rows. */
  accounts: readonly Account[];
  /** Accounts held disabled by a dormant policy (domain/dormant-hold.ts): never enabled. Absent: none. */
  dormant?: readonly DormantHold[];
  /** identity id → system → username allocated earlier (possibly not created yet). */
  links?: ReadonlyMap<string, Readonly<Record<string, string>>>;
  now: Date;
  today: IsoDate;
  /** Reuse a calculator (and its rule memo) across plans; default: the cached one for the policy. */
  calculator?: DesiredStateCalculator;
  /**
   * identity id → SoD rules with an approved exception in force at `now`: under
   * `sod.onBirthrightConflict: withhold` their conflicts are not withheld. Absent: none.
   */
  sodExceptions?: ReadonlyMap<string, ReadonlySet<string>>;
}

export interface PlanAllResult {
  operations: PlannedOperation[];
  problems: PlanProblem[];
  /** identity id → system → username allocated by this plan; record them as links when applying. */
  allocated: Map<string, Record<string, string>>;
}

const NO_ASSIGNMENTS: readonly Assignment[] = Object.freeze([]);
const NO_ACCOUNTS: readonly Account[] = Object.freeze([]);

/**
 * Plans every identity and every orphan. Identities are taken in identity-id order, and so are their
 * operations in the result (each identity's in planIdentity's order), orphans last. A new account's
 * username is allocated as its identity comes, so in identity-id order, avoiding every username in
 * `accounts` and `links` and every one allocated before it; a `fail` collision or an empty username
 * leaves that account out of the plan and is returned as a problem, as is a linked username held by an
 * account of someone else (or of nobody). Pure and deterministic.
 */
export function planAll(input: PlanAllInput): PlanAllResult {
  const steps = planAllSteps(input);
  for (;;) {
    const next = steps.next();
    if (next.done) return next.value;
  }
}

/**
 * `planAll`, one identity at a time: it yields before each identity and returns the same result, so a
 * caller can give way to other work between identities (the engine does, so that a long plan never
 * keeps a server from answering requests or stopping on a signal). Still pure: when to give way is the
 * caller's decision.
 */
export function* planAllSteps(input: PlanAllInput): Generator<void, PlanAllResult, void> {
  const { policy, now, today } = input;
  const index = indexPolicy(policy);
  const calculator = input.calculator ?? calculatorFor(policy, input.lifecycle);
  const links = input.links;

  const accountsByIdentity = new Map<string, Account[]>();
  const orphans: Account[] = [];
  for (const account of input.accounts) {
    if (account.identityId === null) {
      orphans.push(account);
      continue;
    }
    const list = accountsByIdentity.get(account.identityId);
    if (list === undefined) accountsByIdentity.set(account.identityId, [account]);
    else list.push(account);
  }

  // Indexes over every account are built on first use: a steady-state plan rarely needs them, and
  // half a million map entries are not free.
  let holders: Map<string, Map<string, string | null>> | null = null;
  const holderOf = (system: string, username: string): string | null | undefined => {
    if (holders === null) {
      holders = new Map(index.systems.map((def) => [def.name, new Map()]));
      for (const a of input.accounts) {
        if (!isGoneAccount(a)) holders.get(a.system)?.set(a.username, a.identityId);
      }
    }
    return holders.get(system)?.get(username);
  };
  let allocators: Allocator[] | null = null;
  const allocatorOf = (i: number): Allocator => {
    if (allocators === null) {
      const bySystem = new Map(
        index.systems.map((def) => [def.name, createAllocator(def.name, def.account.collision, new Set())]),
      );
      for (const a of input.accounts) bySystem.get(a.system)?.taken.add(a.username);
      for (const record of links?.values() ?? []) {
        for (const name of Object.keys(record)) bySystem.get(name)?.taken.add(record[name]!);
      }
      allocators = index.systems.map((def) => bySystem.get(def.name)!);
    }
    return allocators[i]!;
  };

  let assignmentsOf: (id: string) => readonly Assignment[];
  if (Array.isArray(input.assignments)) {
    const byIdentity = new Map<string, Assignment[]>();
    for (const a of input.assignments as readonly Assignment[]) {
      const list = byIdentity.get(a.identityId);
      if (list === undefined) byIdentity.set(a.identityId, [a]);
      else list.push(a);
    }
    assignmentsOf = (id) => byIdentity.get(id) ?? NO_ASSIGNMENTS;
  } else {
    const byIdentity = input.assignments as ReadonlyMap<string, readonly Assignment[]>;
    assignmentsOf = (id) => byIdentity.get(id) ?? NO_ASSIGNMENTS;
  }

  const exclusionsByIdentity = new Map<string, AccessExclusion[]>();
  for (const e of input.exclusions ?? []) {
    const list = exclusionsByIdentity.get(e.identityId);
    if (list === undefined) exclusionsByIdentity.set(e.identityId, [e]);
    else list.push(e);
  }

  const dormantByIdentity = new Map<string, DormantHold[]>();
  for (const h of input.dormant ?? []) {
    const list = dormantByIdentity.get(h.identityId);
    if (list === undefined) dormantByIdentity.set(h.identityId, [h]);
    else list.push(h);
  }

  const problems: PlanProblem[] = [];
  const operations: PlannedOperation[] = [];
  const allocated = new Map<string, Record<string, string>>();
  const withholding = policy.sod?.onBirthrightConflict === "withhold";
  const systemCount = index.systems.length;
  for (const identity of inIdOrder(input.identities)) {
    yield;
    const accounts = accountsByIdentity.get(identity.id) ?? NO_ACCOUNTS;
    const link = links?.get(identity.id);
    let usernames: Readonly<Record<string, string>> = link ?? {};
    if (accounts.length > 0) {
      const merged: Record<string, string> = { ...link };
      for (const account of accounts) {
        if (!has(merged, account.system) || !isGoneAccount(account))
          merged[account.system] = account.username;
      }
      usernames = merged;
    }
    const context: DesiredStateContext = {
      identity,
      assignments: assignmentsOf(identity.id),
      usernames,
      now,
      today,
    };
    const exclusions = exclusionsByIdentity.get(identity.id);
    if (exclusions !== undefined) context.exclusions = exclusions;
    let desired: DesiredAccess;
    if (withholding) {
      const excepted = input.sodExceptions?.get(identity.id);
      const held = withholdConflicts(calculator, context, accounts, (rule) => excepted?.has(rule) === true);
      desired = held.desired;
      for (const w of held.withheld) problems.push(sodWithheldProblem(identity, w, policy));
    } else {
      desired = calculator.compute(context);
    }
    if (desired.ruleFailures !== undefined) {
      for (const failure of desired.ruleFailures) problems.push(ruleFailedProblem(identity, failure));
      continue;
    }
    holdDormant(desired, dormantByIdentity.get(identity.id));
    let record: Record<string, string> | null = null;
    for (let i = 0; i < systemCount; i++) {
      const system = index.systems[i]!.name;
      const wanted = has(desired.systems, system) ? desired.systems[system]! : undefined;
      // A leaver's account is never created (retainOnly), so no username is allocated for one either.
      if (wanted === undefined || wanted.presence === "absent" || wanted.retainOnly === true) continue;
      if (!has(usernames, system)) {
        const name = allocateNext(
          allocatorOf(i),
          identity.id,
          wanted.username,
          `${identity.id} (${identity.sourceKey})`,
        );
        if (typeof name === "string") {
          wanted.username = name;
          record ??= {};
          record[system] = name;
        } else {
          problems.push(name);
          // No name, no account: the plan leaves this system alone for them.
          delete desired.systems[system];
        }
        continue;
      }
      if (accounts.some((a) => a.system === system && !isGoneAccount(a))) continue;
      const username = usernames[system]!;
      const holder = holderOf(system, username);
      if (holder === undefined || holder === identity.id) continue;
      // Creating it would, through an idempotent connector, silently take over someone else's account.
      problems.push({
        kind: "linked-username-held",
        identityId: identity.id,
        system,
        username,
        message: `${system}: no account for identity ${identity.id}: its username ${username} is held by ${holder === null ? "an orphan account" : `the account of identity ${holder}`}`,
      });
      delete desired.systems[system];
    }
    if (record !== null) allocated.set(identity.id, record);
    for (const op of planInto(desired, accounts, index)) operations.push(op);
  }
  for (const op of planOrphans(orphans, policy)) operations.push(op);
  return { operations, problems, allocated };
}

function sodWithheldProblem(identity: Identity, w: SodWithheld, policy: Policy): PlanProblem {
  const rule = policy.sod?.rules[w.rule];
  const where = rule === undefined ? "" : ` (${formatLocation(rule.location)})`;
  return {
    kind: "sod-withheld",
    identityId: identity.id,
    system: w.system,
    username: null,
    message: `identity ${identity.id} (${identity.sourceKey}): ${w.system}:${w.entitlement} is withheld: it would break separation-of-duties rule ${w.rule}${where}; approve an exception (tenure sod accept) to grant it`,
  };
}

function ruleFailedProblem(identity: Identity, failure: RuleFailure): PlanProblem {
  return {
    kind: "rule-failed",
    identityId: identity.id,
    system: "",
    username: null,
    message: `identity ${identity.id} (${identity.sourceKey}): the rule of role ${failure.role} (${formatLocation(failure.location)}) failed: ${failure.error}; nothing is planned for this identity, its access stays as it is`,
  };
}

/** `identities` in ascending id order; the array itself when it already is (the usual case). */
function inIdOrder(identities: readonly Identity[]): readonly Identity[] {
  for (let i = 1; i < identities.length; i++) {
    if (identities[i - 1]!.id > identities[i]!.id) {
      return [...identities].sort((a, b) => compareIds(a.id, b.id));
    }
  }
  return identities;
}
