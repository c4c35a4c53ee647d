import type { AccessExclusion, Assignment, DesiredAccess, Policy } from "../domain/access-types.js";
import { calculatorFor } from "../domain/desired-state.js";
import type { Identity } from "../domain/identity-types.js";
import { isGone } from "../domain/lifecycle.js";
import { DAY_MS } from "../domain/local-date.js";
import { holdingsOf, type SodEvaluator, sodEvaluatorFor } from "../domain/sod.js";
import type { Holding, SodViolation } from "../domain/sod-holding-types.js";
import { sodReachFor } from "../domain/sod-reach.js";
import type { SodPolicy } from "../domain/sod-types.js";
import { withholdable } from "../domain/sod-withhold.js";
import type { TenureConfig } from "../policy/config-types.js";
import { accountRepository } from "../store/account-repository.js";
import { assignmentRepository } from "../store/assignment-repository.js";
import { chunk } from "../store/chunk.js";
import type { HeldEntitlements } from "../store/held-account.js";
import { reviewExclusionRepository } from "../store/review-exclusion-repository.js";
import type { Db } from "../store/schema-types.js";
import { type SodException, sodExceptionRepository, type ViolationRecord } from "../store/sod-repository.js";
import { type IdentityScanRows, sodScanRepository } from "../store/sod-scan-repository.js";
import { policyToday } from "./policy-today.js";

/**
 * Effective access as separation-of-duties rules see it, read from the store: birthright and
 * assignments (through the desired-state calculator, so exactly what the plan gives), assignments that
 * start later, and entitlements reconcile found on the identity's accounts.
 */

const NO_SOD: SodPolicy = Object.freeze({ rules: Object.freeze({}), onBirthrightConflict: "report" });

/** The `sod:` section, or no rules at all. */
export function sodOf(policy: Policy): SodPolicy {
  return policy.sod ?? NO_SOD;
}

/** What the store holds about a set of identities, grouped by identity. */
export interface AccessData {
  /** What their enabled accounts hold, in the systems rules name entitlements of. */
  accounts: Map<string, HeldEntitlements[]>;
  assignments: Map<string, Assignment[]>;
  /** Access reviewers refused (review exclusions not lifted): the plan withholds it, so rules do not see it. */
  exclusions: Map<string, AccessExclusion[]>;
  /** identity id → rules with an exception in force. */
  exceptions: Map<string, SodException[]>;
  /** `now` as the policy's calendar date (pre-hire windows), worked out once for everyone. */
  today: string;
}

function group<T>(list: readonly T[], key: (t: T) => string | null): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const t of list) {
    const k = key(t);
    if (k === null) continue;
    const l = out.get(k);
    if (l === undefined) out.set(k, [t]);
    else l.push(t);
  }
  return out;
}

const namedSystems = new WeakMap<SodPolicy, readonly string[]>();

/**
 * The systems some rule names an entitlement of: only their accounts matter to a scan. Worked out once
 * per loaded policy (it walks every rule, and an incremental scan of one person asks for it each time).
 */
export function systemsNamed(sod: SodPolicy): readonly string[] {
  const known = namedSystems.get(sod);
  if (known !== undefined) return known;
  const systems = new Set<string>();
  for (const rule of Object.values(sod.rules)) {
    const c = rule.condition;
    for (const item of c.kind === "pair" ? [...c.sideA, ...c.sideB] : c.items) {
      if (item.kind === "entitlement") systems.add(item.system);
    }
  }
  const out = Object.freeze([...systems]);
  namedSystems.set(sod, out);
  return out;
}

/** Accounts, assignments and exceptions in force of `identityIds` (all when absent). */
export async function loadAccessData(
  db: Db,
  now: Date,
  identityIds: readonly string[] | undefined,
  config: Pick<TenureConfig, "policy" | "sources">,
): Promise<AccessData> {
  const sod = sodOf(config.policy);
  const filter = identityIds === undefined ? {} : { identityIds };
  const systems = systemsNamed(sod);
  const [accounts, assignments, exceptions, exclusions] = await Promise.all([
    identityIds === undefined
      ? accountRepository.heldEntitlements(db, { systems })
      : chunked(identityIds, (ids) => accountRepository.heldEntitlements(db, { systems, identityIds: ids })),
    identityIds === undefined
      ? assignmentRepository.list(db, filter)
      : chunked(identityIds, (ids) => assignmentRepository.list(db, { identityIds: ids })),
    sodExceptionRepository.inForce(db, now.toISOString(), identityIds),
    reviewExclusionRepository.active(db, identityIds),
  ]);
  return accessDataOf({ accounts, assignments, exceptions, exclusions }, now, config);
}

function accessDataOf(
  rows: Pick<IdentityScanRows, "accounts" | "assignments" | "exceptions" | "exclusions">,
  now: Date,
  config: Pick<TenureConfig, "sources">,
): AccessData {
  return {
    today: policyToday({ sources: config.sources }, now),
    accounts: group(rows.accounts, (a) => a.identityId),
    assignments: group(rows.assignments, (a) => a.identityId),
    exceptions: group(rows.exceptions, (e) => e.identityId),
    exclusions: group(rows.exclusions, (e) => e.identityId),
  };
}

/** Some identities as an incremental scan reads them: who they are, what they hold, what is open. */
export interface IdentitiesAccess {
  /** Those of the identities asked for that exist. */
  identities: Identity[];
  data: AccessData;
  /** Their open violations as stored, read with the rest (one statement on PostgreSQL). */
  open: ViolationRecord[];
}

/**
 * The identities `identityIds` with their accounts, assignments, exceptions and exclusions
 * ({@link loadAccessData}) and their open violations, read together: on PostgreSQL one statement per
 * 500 identities (store/sod-scan-repository.ts `identityRows`), so a scan of one person is one round trip.
 */
export async function loadIdentitiesAccess(
  db: Db,
  now: Date,
  identityIds: readonly string[],
  config: Pick<TenureConfig, "policy" | "sources">,
): Promise<IdentitiesAccess> {
  const rows = await sodScanRepository.identityRows(db, identityIds, {
    now: now.toISOString(),
    systems: systemsNamed(sodOf(config.policy)),
  });
  return { identities: rows.identities, data: accessDataOf(rows, now, config), open: rows.open };
}

/** Reads `ids` 500 at a time: a scan of many identities stays within the bound-parameter limit. */
async function chunked<T>(
  ids: readonly string[],
  read: (ids: readonly string[]) => Promise<T[]>,
): Promise<T[]> {
  const out: T[] = [];
  for (const part of chunk(ids, 500)) out.push(...(await read(part)));
  return out;
}

/** Whom a full scan evaluates, out of everyone. */
export interface ScanPopulation {
  /** How many identities there are. */
  scanned: number;
  /** Those who have left (terminated, deleted): their open violations close. */
  left: string[];
  /**
   * Those who could break a rule (domain/sod-reach.ts): an assignment in force or to come, mover grace,
   * or named access held by birthright and found on their accounts that breaks some rule when held all
   * at once. Nobody else can: they need no evaluation.
   */
  candidates: string[];
}

/** Everyone read narrowly (the attributes birthright rules read, named entitlements found), and sorted. */
export async function scanPopulation(
  db: Db,
  now: Date,
  config: Pick<TenureConfig, "policy" | "lifecycle">,
): Promise<ScanPopulation> {
  const reach = sodReachFor(config.policy, sodOf(config.policy));
  const [rows, assignments] = await Promise.all([
    sodScanRepository.population(db, { attributes: reach.reads, foundKeys: reach.foundKeys }),
    sodScanRepository.assignmentEnds(db),
  ]);
  const nowMs = now.getTime();
  // An assignment that ended before now gives nothing now nor later; any other is evaluated in full.
  const assigned = new Set<string>();
  for (const a of assignments) {
    if (a.validUntil === null || !(Date.parse(a.validUntil) <= nowMs)) assigned.add(a.identityId);
  }
  const graceMs = config.lifecycle.moverGraceDays * DAY_MS;
  const left: string[] = [];
  const candidates: string[] = [];
  for (const row of rows) {
    if (isGone(row.state as Identity["state"])) {
      left.push(row.id);
      continue;
    }
    const moving = graceMs > 0 && row.movedAt !== null && !(Date.parse(row.movedAt) + graceMs <= nowMs);
    if (assigned.has(row.id) || moving || reach.mayBreak(row)) candidates.push(row.id);
  }
  return { scanned: rows.length, left, candidates };
}

/** One identity's effective access and the violations it makes. */
export interface IdentitySod {
  identity: Identity;
  desired: DesiredAccess;
  holdings: Holding[];
  violations: SodViolation[];
  /** Violation key → whether its newer access is withheld (`onBirthrightConflict: withhold`). */
  withheld: Set<string>;
  exceptions: SodException[];
}

/**
 * Evaluates one identity: nothing for someone who has left (their accounts are disabled, their
 * assignments ended). `extra`: access not granted yet, checked as if it were (a request).
 */
export function evaluateIdentity(
  config: TenureConfig,
  identity: Identity,
  data: AccessData,
  now: Date,
  extra: readonly Holding[] = [],
  involving?: (h: Holding) => boolean,
): IdentitySod {
  const sod = sodOf(config.policy);
  const evaluator: SodEvaluator = sodEvaluatorFor(sod);
  const exceptions = data.exceptions.get(identity.id) ?? [];
  const calculator = calculatorFor(config.policy, config.lifecycle);
  const assignments = data.assignments.get(identity.id) ?? [];
  if (isGone(identity.state) || evaluator.rules.length === 0) {
    return {
      identity,
      desired: { identityId: identity.id, systems: {} },
      holdings: [],
      violations: [],
      withheld: new Set(),
      exceptions,
    };
  }
  // Usernames and account attributes are not what rules read: the light computation leaves them out.
  const { desired, roles } = calculator.computeWithRoles(
    {
      identity,
      assignments,
      exclusions: data.exclusions.get(identity.id) ?? [],
      usernames: {},
      now,
      today: data.today,
    },
    { light: true },
  );
  const holdings = holdingsOf(
    {
      policy: config.policy,
      desired,
      roles,
      assignments,
      accounts: data.accounts.get(identity.id) ?? [],
      employment: identity.employment,
      now,
    },
    evaluator.names,
  );
  for (const h of extra) if (evaluator.names(h.item)) holdings.push(h);
  const violations = evaluator.evaluate(
    identity.id,
    identity.attributes,
    holdings,
    involving === undefined ? undefined : { involving },
  );
  const withheld = new Set<string>();
  if (sod.onBirthrightConflict === "withhold") {
    for (const v of violations) {
      if (exceptions.some((e) => e.rule === v.rule)) continue;
      if (withholdable(v, desired).length > 0) withheld.add(v.key);
    }
  }
  return { identity, desired, holdings, violations, withheld, exceptions };
}
