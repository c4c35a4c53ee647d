import type {
  AccessExclusion,
  Account,
  Assignment,
  DesiredAccess,
  PlannedOperation,
  Policy,
  RuleFailure,
} from "./access-types.js";
import { calculatorFor } from "./desired-state.js";
import type { DesiredStateCalculator, DesiredStateContext } from "./desired-state-types.js";
import { type DormantHold, holdDormant } from "./dormant-hold.js";
import type { Identity, IsoDate } from "./identity-types.js";
import type { LifecycleConfig } from "./lifecycle-settings.js";
import { formatLocation } from "./lineage-format.js";
import { has, isGoneAccount, type PlanProblem, planInto, planOrphans } from "./plan.js";
import { indexPolicy } from "./policy-index.js";
import { type SodWithheld, withholdConflicts } from "./sod-withhold.js";
import { type Allocator, allocateNext, compareIds, createAllocator } from "./username-allocation.js";

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
