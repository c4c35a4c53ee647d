import { hash } from "node:crypto";
import type { LifecycleConfig } from "../policy/config-types.js";
import {
  type Account,
  type Assignment,
  type DesiredAccess,
  type DesiredSystemAccess,
  type Lineage,
  OPERATION_KINDS,
  type OperationKind,
  type PlannedOperation,
  type Policy,
  type SystemDef,
} from "./access-types.js";
import { calculatorFor, type DesiredStateCalculator } from "./desired-state.js";
import type { Identity, IsoDate } from "./identity-types.js";
import { describeGrant, lifecycleNote } from "./lineage-format.js";
import { allocateUsername } from "./username-template.js";

/** Something the planner could not turn into operations; the plan goes on without it. */
export interface PlanProblem {
  /**
   * `username-taken`: a new account's name is taken and the collision rule is `fail`;
   * `username-empty`: the template renders nothing usable; `linked-username-held`: the username linked
   * to the identity belongs to a live account correlated to someone else or to nobody (an orphan),
   * which Tenure will not take over — reconcile or an administrator must settle who owns it.
   */
  kind: "username-taken" | "username-empty" | "linked-username-held";
  identityId: string | null;
  system: string;
  username: string | null;
  message: string;
}

const KIND_ORDER: Readonly<Record<OperationKind, number>> = Object.fromEntries(
  OPERATION_KINDS.map((kind, i) => [kind, i]),
) as Record<OperationKind, number>;
const NO_LINEAGE: readonly Lineage[] = Object.freeze([]);
const NOTHING: Readonly<Record<string, Lineage[]>> = Object.freeze(Object.create(null));

interface PolicyIndex {
  systems: readonly SystemDef[];
  order: ReadonlyMap<string, number>;
  privileged: ReadonlyMap<string, ReadonlySet<string>>;
}
const policyIndexes = new WeakMap<Policy, PolicyIndex>();

function indexPolicy(policy: Policy): PolicyIndex {
  let index = policyIndexes.get(policy);
  if (index === undefined) {
    const names = Object.keys(policy.systems);
    index = {
      systems: names.map((name) => policy.systems[name]!),
      order: new Map(names.map((name, i) => [name, i])),
      privileged: new Map(
        names.map((name) => {
          const defs = policy.entitlements[name] ?? {};
          return [name, new Set(Object.keys(defs).filter((key) => defs[key]!.privileged))];
        }),
      ),
    };
    policyIndexes.set(policy, index);
  }
  return index;
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
  let attributes = "~";
  if (op.attributes !== null) {
    const keys = Object.keys(op.attributes);
    if (keys.length > 1) keys.sort();
    attributes = "";
    for (const key of keys) attributes += `${field(key)}=${field(op.attributes[key] ?? null)};`;
  }
  const enabled = op.enabled === null ? "~" : op.enabled ? "1" : "0";
  const text = `${field(op.system)}|${op.kind}|${field(op.username)}|${field(op.entitlement)}|${attributes}|${enabled}`;
  return hash("sha256", text, "hex");
}

/** Who an operation acts on; one per (identity, system) so building operations allocates no closure. */
interface Target {
  ops: PlannedOperation[];
  system: string;
  identityId: string | null;
  username: string;
  nativeId: string | null;
  /** The username is provisional (allocation pending): the key is computed once it is final. */
  deferKey: boolean;
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
  if (!target.deferKey) op.idempotencyKey = idempotencyKey(op);
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
  deferKey: boolean,
): void {
  const system = def.name;
  const target: Target = { ops, system, identityId, username: desired.username!, nativeId: null, deferKey };
  const enabled = desired.presence === "enabled";
  const reason = createReason(system, desired, vanished);
  emit(target, "create", null, desired.attributes, enabled, desired.presenceLineage, reason, vanished);
  const keys = Object.keys(desired.entitlements);
  if (keys.length > 1) keys.sort();
  for (const entitlement of keys) {
    const lineage = desired.entitlements[entitlement]!;
    emitEntitlement(target, "grant", entitlement, lineage, grantReason(system, entitlement, lineage), false);
  }
}

function planSystem(
  ops: PlannedOperation[],
  identityId: string,
  def: SystemDef,
  desired: DesiredSystemAccess | undefined,
  account: Account | undefined,
  privileged: ReadonlySet<string>,
  deferKey: boolean,
): void {
  const system = def.name;
  const presence = desired?.presence ?? "absent";
  const enforce = def.drift === "enforce";

  if (account === undefined || isGoneAccount(account)) {
    if (presence === "absent" || desired === undefined || desired.username === null) return;
    // Tenure's own account deleted out of band is drift: put back only where the system says enforce.
    const vanished = account?.managed === true;
    if (vanished && !enforce) return;
    planNewAccount(ops, identityId, def, desired, vanished, deferKey);
    return;
  }

  const target: Target = {
    ops,
    system,
    identityId,
    username: account.username,
    nativeId: account.nativeId,
    deferKey: false,
  };
  const presenceLineage = desired?.presenceLineage ?? NO_LINEAGE;
  const stopReason =
    lifecycleNote(presenceLineage) ?? `no role or assignment grants an account in ${system} any more`;

  // A leaver is cut off first, before any slower clean-up can fail half-way.
  if (account.enabled && presence !== "enabled") {
    emitAccount(target, "disable", presenceLineage, `Disable the account in ${system}: ${stopReason}.`);
  }

  const deleting = presence === "absent" && account.managed;
  const wanted = presence === "absent" || desired === undefined ? NOTHING : desired.entitlements;
  const withheld = desired?.withheld ?? NOTHING;
  const held = account.entitlements.length > 1 ? [...account.entitlements].sort() : account.entitlements;
  for (const entitlement of held) {
    if (has(wanted, entitlement)) continue;
    const label = `${system}:${entitlement}`;
    if (deleting) {
      const lineage = has(withheld, entitlement) ? withheld[entitlement]! : presenceLineage;
      const why = `Revoke ${label} before the account is deleted: ${stopReason}.`;
      emitEntitlement(target, "revoke", entitlement, lineage, why, false);
    } else if (has(withheld, entitlement)) {
      const lineage = withheld[entitlement]!;
      const why = lifecycleNote(lineage) ?? "withheld by lifecycle policy";
      emitEntitlement(target, "revoke", entitlement, lineage, `Revoke ${label}: ${why}.`, false);
    } else if (account.managedEntitlements.includes(entitlement)) {
      const why = `Revoke ${label}: no role or assignment grants it any more.`;
      emitEntitlement(target, "revoke", entitlement, NO_LINEAGE, why, false);
    } else if (enforce) {
      const why = `Revoke ${label}: granted outside Tenure and ${system} enforces drift.`;
      emitEntitlement(target, "revoke", entitlement, NO_LINEAGE, why, true);
    } else if (presence !== "enabled" && privileged.has(entitlement)) {
      // drift: report must not leave privileged access on an account that is out of use (a leaver's).
      const why = `Revoke privileged ${label}, granted outside Tenure: the account is not in use (${stopReason}).`;
      emitEntitlement(target, "revoke", entitlement, presenceLineage, why, true);
    }
  }

  if (presence === "absent" || desired === undefined) {
    if (deleting)
      emitAccount(target, "delete", presenceLineage, `Delete the account in ${system}: ${stopReason}.`);
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
    emit(target, "update", null, changes, null, presenceLineage, why, false);
  }

  for (const entitlement of Object.keys(desired.entitlements).sort()) {
    if (account.entitlements.includes(entitlement)) continue;
    const lineage = desired.entitlements[entitlement]!;
    const label = `${system}:${entitlement}`;
    if (account.managedEntitlements.includes(entitlement)) {
      // Tenure granted it and someone removed it out of band: drift.
      if (enforce) {
        const why = `Grant ${label} again: removed outside Tenure and ${system} enforces drift.`;
        emitEntitlement(target, "grant", entitlement, lineage, why, true);
      }
    } else {
      emitEntitlement(
        target,
        "grant",
        entitlement,
        lineage,
        grantReason(system, entitlement, lineage),
        false,
      );
    }
  }

  if (presence === "enabled" && !account.enabled) {
    const why = `Enable the account in ${system}, ${because(presenceLineage, "desired by policy")}.`;
    emitAccount(target, "enable", presenceLineage, why);
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
 * grant, enable, delete — the order of OPERATION_KINDS; within a kind, policy order of systems, then
 * entitlement keys sorted.
 */
export function planIdentity(
  desired: DesiredAccess,
  actual: readonly Account[],
  policy: Policy,
): PlannedOperation[] {
  return planInto(desired, actual, indexPolicy(policy), null);
}

const byKind = (a: PlannedOperation, b: PlannedOperation) => KIND_ORDER[a.kind] - KIND_ORDER[b.kind];

/** planIdentity, with keys left empty for the systems in `deferred` (their usernames are provisional). */
function planInto(
  desired: DesiredAccess,
  actual: readonly Account[],
  index: PolicyIndex,
  deferred: readonly string[] | null,
): PlannedOperation[] {
  const ops: PlannedOperation[] = [];
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
    const defer = deferred?.includes(system) === true;
    planSystem(ops, desired.identityId, def, wanted, account, index.privileged.get(system)!, defer);
  }
  // Stable: within a kind, the system and entitlement order of insertion is kept.
  return ops.length < 2 ? ops : ops.sort(byKind);
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
    const target: Target = {
      ops,
      system: a.system,
      identityId: null,
      username: a.username,
      nativeId: a.nativeId,
      deferKey: false,
    };
    const why = `Disable an orphan account in ${a.system}: it belongs to no identity and ${a.system} disables orphans.`;
    emit(target, "disable", null, null, null, NO_LINEAGE, why, true);
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
  const { names, problems } = allocateInOrder(input.system, input.collision, input.candidates, input.taken);
  const entries: [string, string][] = [];
  input.candidates.forEach((c, i) => {
    const name = names[i];
    if (name !== null && name !== undefined) entries.push([c.identityId, name]);
  });
  entries.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return { assigned: new Map(entries), problems };
}

/** allocateUsernames with the names aligned to `candidates` (null where none could be given). */
function allocateInOrder(
  system: string,
  collision: "suffix" | "fail",
  candidates: readonly UsernameCandidate[],
  taken: ReadonlySet<string>,
): { names: (string | null)[]; problems: PlanProblem[] } {
  const added = new Set<string>();
  const used = { has: (name: string) => taken.has(name) || added.has(name) };
  // The next suffix to try per base, so a thousand John Smiths cost a thousand checks, not half a million.
  const nextSuffix = new Map<string, number>();
  const names: (string | null)[] = new Array(candidates.length).fill(null);
  const problems: PlanProblem[] = [];
  const order = candidates.map((_, i) => i);
  order.sort((a, b) => {
    const x = candidates[a]!.identityId;
    const y = candidates[b]!.identityId;
    return x < y ? -1 : x > y ? 1 : 0;
  });
  for (const i of order) {
    const { identityId, base } = candidates[i]!;
    const result = allocateUsername(base ?? "", used, collision, nextSuffix.get(base ?? "") ?? 2);
    if (result.ok) {
      added.add(result.username);
      names[i] = result.username;
      if (result.username !== base) nextSuffix.set(base!, Number(result.username.slice(base!.length)) + 1);
    } else {
      problems.push({
        kind: result.reason === "empty" ? "username-empty" : "username-taken",
        identityId,
        system,
        username: base,
        message: `${system}: no account for identity ${identityId}: ${result.message}`,
      });
    }
  }
  return { names, problems };
}

/** Input of `planAll`: everything the plan of a whole organisation depends on. */
export interface PlanAllInput {
  policy: Policy;
  lifecycle: LifecycleConfig;
  identities: readonly Identity[];
  /** Every assignment (or by identity id); inactive ones and other employments' are ignored. */
  assignments: readonly Assignment[] | ReadonlyMap<string, readonly Assignment[]>;
  /** Every known account in every system: identities', orphans (identityId null), vanished rows. */
  accounts: readonly Account[];
  /** identity id → system → username allocated earlier (possibly not created yet). */
  links?: ReadonlyMap<string, Readonly<Record<string, string>>>;
  now: Date;
  today: IsoDate;
  /** Reuse a calculator (and its rule memo) across plans; default: the cached one for the policy. */
  calculator?: DesiredStateCalculator;
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
 * Plans every identity and every orphan. Usernames for new accounts are allocated per system in
 * identity-id order, avoiding every username in `accounts` and `links`; a `fail` collision or an empty
 * username leaves that account out of the plan and is returned as a problem. Operations are grouped by
 * identity in input order (each in planIdentity's order), orphans last. Pure and deterministic.
 */
export function planAll(input: PlanAllInput): PlanAllResult {
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
  // system → username → who holds the live account of that name (null: an orphan). Built on first use:
  // a steady-state plan rarely needs it, and 500,000 map entries are not free.
  let holders: Map<string, Map<string, string | null>> | null = null;
  const holderOf = (system: string, username: string): string | null | undefined => {
    if (holders === null) {
      holders = new Map(index.systems.map((def) => [def.name, new Map()]));
      for (const a of input.accounts)
        if (!isGoneAccount(a)) holders.get(a.system)?.set(a.username, a.identityId);
    }
    return holders.get(system)?.get(username);
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

  const problems: PlanProblem[] = [];
  const operations: PlannedOperation[] = [];
  // Accounts whose username must still be allocated: planned at once with the rendered name and no key,
  // fixed (or dropped) after allocation. Nothing but the operations outlives the identity's iteration.
  const candidates = new Map<string, { identityId: string; base: string | null; start: number }[]>();
  for (const identity of input.identities) {
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
    const desired = calculator.compute({
      identity,
      assignments: assignmentsOf(identity.id),
      usernames,
      now,
      today,
    });
    let deferred: string[] | null = null;
    for (const system of Object.keys(desired.systems)) {
      if (desired.systems[system]!.presence === "absent") continue;
      if (!has(usernames, system)) {
        deferred ??= [];
        deferred.push(system);
        let list = candidates.get(system);
        if (list === undefined) {
          list = [];
          candidates.set(system, list);
        }
        list.push({
          identityId: identity.id,
          base: desired.systems[system]!.username,
          start: operations.length,
        });
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
    for (const op of planInto(desired, accounts, index, deferred)) operations.push(op);
  }

  const allocated = new Map<string, Record<string, string>>();
  let dropped = false;
  for (const def of index.systems) {
    const list = candidates.get(def.name);
    if (list === undefined) continue;
    const system = def.name;
    const taken = new Set<string>();
    for (const a of input.accounts) if (a.system === system) taken.add(a.username);
    if (links !== undefined) {
      for (const record of links.values()) if (has(record, system)) taken.add(record[system]!);
    }
    const result = allocateInOrder(system, def.account.collision, list, taken);
    for (const problem of result.problems) problems.push(problem);
    list.forEach((candidate, i) => {
      const name = result.names[i] ?? null;
      // An identity's operations are contiguous from `start`; those of this system have no key yet.
      for (let k = candidate.start; k < operations.length; k++) {
        const op = operations[k]!;
        if (op.identityId !== candidate.identityId) break;
        if (op.system !== system || op.idempotencyKey !== "") continue;
        if (name === null) {
          dropped = true;
          continue;
        }
        op.username = name;
        op.idempotencyKey = idempotencyKey(op);
      }
      if (name === null) return;
      const record = allocated.get(candidate.identityId);
      if (record === undefined) allocated.set(candidate.identityId, { [system]: name });
      else record[system] = name;
    });
  }

  // No name, no account: a candidate's provisional operations that never got a key go.
  const result = dropped ? operations.filter((op) => op.idempotencyKey !== "") : operations;
  for (const op of planOrphans(orphans, policy)) result.push(op);
  return { operations: result, problems, allocated };
}

/**
 * What the operations do to the accounts, as a connector would: a pure simulator for tests and
 * `plan --at` previews. Returns new account objects; `actual` is not modified. An account is found by
 * system and nativeId (when the operation has one) or username. `create` makes a managed account
 * (replacing a vanished row of the same name); grant/revoke keep `managedEntitlements` in step;
 * `delete` removes the row. Deleting or revoking what is not there is a no-op, as connectors are
 * idempotent; any other operation on a missing account throws, since a connector would fail.
 */
export function applyPlanToAccounts(actual: readonly Account[], ops: readonly PlannedOperation[]): Account[] {
  const accounts: (Account | null)[] = actual.map((a) => a);
  const copied = new Set<number>();
  const locate = new Map<string, number>();
  const byNativeId = new Map<string, number>();
  const keyOf = (system: string, name: string) => `${system}\u0000${name}`;
  for (let i = 0; i < accounts.length; i++) {
    const a = accounts[i]!;
    const key = keyOf(a.system, a.username);
    // A live account wins over a vanished row of the same name.
    if (!locate.has(key) || !isGoneAccount(a)) locate.set(key, i);
    if (a.nativeId !== null && !isGoneAccount(a)) byNativeId.set(keyOf(a.system, a.nativeId), i);
  }
  const live = (i: number | undefined): number | undefined =>
    i === undefined || accounts[i] === null || isGoneAccount(accounts[i]!) ? undefined : i;
  const find = (op: PlannedOperation): number | undefined =>
    (op.nativeId === null ? undefined : live(byNativeId.get(keyOf(op.system, op.nativeId)))) ??
    live(locate.get(keyOf(op.system, op.username)));
  const writable = (i: number): Account => {
    if (!copied.has(i)) {
      const a = accounts[i]!;
      accounts[i] = {
        ...a,
        attributes: { ...a.attributes },
        entitlements: [...a.entitlements],
        managedEntitlements: [...a.managedEntitlements],
      };
      copied.add(i);
    }
    return accounts[i]!;
  };

  for (const op of ops) {
    if (op.kind === "create") {
      const existing = locate.get(keyOf(op.system, op.username));
      const account: Account = {
        system: op.system,
        nativeId: null,
        username: op.username,
        identityId: op.identityId,
        enabled: op.enabled ?? true,
        attributes: { ...op.attributes },
        entitlements: [],
        managedEntitlements: [],
        managed: true,
        vanishedAt: null,
        lastSeenAt: null,
        lastUsedAt: null,
      };
      if (existing !== undefined && accounts[existing] !== null && !isGoneAccount(accounts[existing]!)) {
        throw new Error(`create ${op.system}/${op.username}: the account already exists`);
      }
      if (existing !== undefined && accounts[existing] !== null) {
        accounts[existing] = account;
        copied.add(existing);
      } else {
        locate.set(keyOf(op.system, op.username), accounts.push(account) - 1);
        copied.add(accounts.length - 1);
      }
      continue;
    }
    if (op.kind === "rotate") continue;
    const i = find(op);
    if (i === undefined) {
      if (op.kind === "delete" || op.kind === "revoke") continue;
      throw new Error(`${op.kind} ${op.system}/${op.username}: no such account`);
    }
    if (op.kind === "delete") {
      accounts[i] = null;
      continue;
    }
    const account = writable(i);
    switch (op.kind) {
      case "enable":
        account.enabled = true;
        break;
      case "disable":
        account.enabled = false;
        break;
      case "update":
        Object.assign(account.attributes, op.attributes);
        break;
      case "grant":
        if (!account.entitlements.includes(op.entitlement!)) account.entitlements.push(op.entitlement!);
        if (!account.managedEntitlements.includes(op.entitlement!))
          account.managedEntitlements.push(op.entitlement!);
        break;
      case "revoke":
        account.entitlements = account.entitlements.filter((e) => e !== op.entitlement);
        account.managedEntitlements = account.managedEntitlements.filter((e) => e !== op.entitlement);
        break;
    }
  }
  return accounts.filter((a): a is Account => a !== null);
}
