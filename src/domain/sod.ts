import type { Account, Assignment, DesiredAccess, Lineage, Policy } from "./access-types.js";
import { describeAssignmentTarget } from "./assignment-status.js";
import type { WorkerAttributes } from "./identity-types.js";
import { describeLineage, formatLocation } from "./lineage-format.js";
import type { Holding, SodViolation, ViolationSide } from "./sod-holding-types.js";
import { roleItems, sodItemKey } from "./sod-role-check.js";
import type { SodItem, SodPolicy, SodRule } from "./sod-types.js";

/**
 * Separation-of-duties evaluation: which rules an identity's effective access breaks, and when.
 * Effective access is a list of holdings, each with the window it is held in, so a conflict exists only
 * while both sides are held at once — a grant starting next week is checked for next week. Pure.
 */

interface RuleSlot {
  rule: number;
  /** 0: side A (or the `of` set of an atMost rule); 1: side B. */
  side: 0 | 1;
}

export interface SodEvaluator {
  readonly rules: readonly SodRule[];
  /** Whether any rule names the item: holdings of other items need not be gathered at all. */
  names(item: SodItem): boolean;
  /**
   * Whether holding all of `keys` ({@link sodItemKey}) at once could break a rule: both sides of a pair
   * rule, or more than `max` of an atMost rule, scopes and windows not read. False means access that is
   * a subset of `keys` breaks no rule, whatever its windows and whoever holds it.
   */
  mayBreak(keys: Iterable<string>): boolean;
  /**
   * Every rule the holdings break, with the colliding access and the window all of it is held in.
   * `only`: just these rules (by name). `involving`: only violations with at least one holding the
   * predicate accepts (a request's new access), the others being already known.
   */
  evaluate(
    identityId: string,
    attributes: WorkerAttributes,
    holdings: readonly Holding[],
    options?: { involving?: (h: Holding) => boolean },
  ): SodViolation[];
}

const evaluators = new WeakMap<SodPolicy, SodEvaluator>();

/** The evaluator of a compiled `sod:` section, built once per section object. */
export function sodEvaluatorFor(sod: SodPolicy): SodEvaluator {
  let evaluator = evaluators.get(sod);
  if (evaluator === undefined) {
    evaluator = createSodEvaluator(sod);
    evaluators.set(sod, evaluator);
  }
  return evaluator;
}

export function createSodEvaluator(sod: SodPolicy): SodEvaluator {
  const rules = Object.values(sod.rules);
  const slots = new Map<string, RuleSlot[]>();
  const add = (item: SodItem, slot: RuleSlot) => {
    const key = sodItemKey(item);
    const list = slots.get(key);
    if (list === undefined) slots.set(key, [slot]);
    else list.push(slot);
  };
  rules.forEach((rule, i) => {
    const c = rule.condition;
    if (c.kind === "pair") {
      for (const item of c.sideA) add(item, { rule: i, side: 0 });
      for (const item of c.sideB) add(item, { rule: i, side: 1 });
    } else {
      for (const item of c.items) add(item, { rule: i, side: 0 });
    }
  });

  // Scratch space of the first pass, by rule index; an epoch marks what this evaluation wrote.
  const stamp = new Int32Array(rules.length);
  const mask = new Uint8Array(rules.length);
  const count = new Int32Array(rules.length);
  let epoch = 0;

  return {
    rules,
    names: (item) => slots.has(sodItemKey(item)),
    mayBreak(keys) {
      epoch++;
      const distinct = new Set<string>();
      for (const key of keys) {
        const found = slots.get(key);
        if (found === undefined || distinct.has(key)) continue;
        distinct.add(key);
        for (const slot of found) {
          const r = slot.rule;
          if (stamp[r] !== epoch) {
            stamp[r] = epoch;
            mask[r] = 0;
            count[r] = 0;
          }
          mask[r]! |= 1 << slot.side;
          count[r]!++;
          const c = rules[r]!.condition;
          if (c.kind === "pair" ? mask[r] === 3 : count[r]! > c.max) return true;
        }
      }
      return false;
    },
    evaluate(identityId, attributes, holdings, options) {
      // First a pass that allocates nothing per rule: which rules have both sides (or more than
      // `max` items) held at all. Most people break no rule, so most evaluations end here.
      epoch++;
      const keys: (string | null)[] = new Array(holdings.length);
      const distinct = new Set<string>();
      const reached: number[] = [];
      for (let i = 0; i < holdings.length; i++) {
        const key = sodItemKey(holdings[i]!.item);
        const found = slots.get(key);
        if (found === undefined) {
          keys[i] = null;
          continue;
        }
        keys[i] = key;
        const first = !distinct.has(key);
        if (first) distinct.add(key);
        for (const slot of found) {
          const r = slot.rule;
          if (stamp[r] !== epoch) {
            stamp[r] = epoch;
            mask[r] = 0;
            count[r] = 0;
            reached.push(r);
          }
          mask[r]! |= 1 << slot.side;
          if (first) count[r]!++;
        }
      }
      const candidates = new Set<number>();
      for (const r of reached) {
        const c = rules[r]!.condition;
        if (c.kind === "pair" ? mask[r] === 3 : count[r]! > c.max) candidates.add(r);
      }
      if (candidates.size === 0) return [];
      // rule index → side → item key → holdings of that item, for the candidate rules only
      let touched: Map<number, [Map<string, Holding[]>, Map<string, Holding[]>]> | null = null;
      for (let i = 0; i < holdings.length; i++) {
        const key = keys[i];
        if (key === null || key === undefined) continue;
        const h = holdings[i]!;
        for (const slot of slots.get(key)!) {
          if (!candidates.has(slot.rule)) continue;
          touched ??= new Map();
          let sides = touched.get(slot.rule);
          if (sides === undefined) {
            sides = [new Map(), new Map()];
            touched.set(slot.rule, sides);
          }
          const byItem = sides[slot.side];
          const list = byItem.get(key);
          if (list === undefined) byItem.set(key, [h]);
          else list.push(h);
        }
      }
      if (touched === null) return [];
      const out: SodViolation[] = [];
      for (const [index, sides] of touched) {
        const rule = rules[index]!;
        const found =
          rule.condition.kind === "pair"
            ? pairConflict(sides[0], sides[1])
            : atMostConflict(sides[0], rule.condition.max);
        if (found === null) continue;
        if (options?.involving !== undefined && !found.sides.some((s) => s.holdings.some(options.involving!)))
          continue;
        // The scope is read last: most identities break no rule, and CEL costs more than a map.
        if (rule.scope !== null && !rule.scope.evaluate(attributes).value) continue;
        out.push({
          identityId,
          rule: rule.name,
          severity: rule.severity,
          sides: found.sides,
          from: found.from,
          until: found.until,
          key: `${identityId}|${rule.name}`,
        });
      }
      return out;
    },
  };
}

interface Window {
  from: number;
  until: number;
}

function windowOf(h: Holding): Window {
  return {
    from: Date.parse(h.from),
    until: h.until === null ? Number.POSITIVE_INFINITY : Date.parse(h.until),
  };
}

function iso(ms: number): string | null {
  return ms === Number.POSITIVE_INFINITY ? null : new Date(ms).toISOString();
}

/** The holdings of `list` whose window meets [from, until). */
function within(list: readonly Holding[], w: Window): Holding[] {
  return list.filter((h) => {
    const x = windowOf(h);
    return x.from < w.until && w.from < x.until;
  });
}

/**
 * The earliest moment an item of side A and a different item of side B are held together, and the
 * sides as held in that window. Null when they never are.
 */
function pairConflict(
  a: ReadonlyMap<string, Holding[]>,
  b: ReadonlyMap<string, Holding[]>,
): { sides: ViolationSide[]; from: string; until: string | null } | null {
  if (a.size === 0 || b.size === 0) return null;
  let best: Window | null = null;
  for (const [ka, la] of a) {
    for (const [kb, lb] of b) {
      if (ka === kb) continue;
      for (const ha of la) {
        const wa = windowOf(ha);
        for (const hb of lb) {
          const wb = windowOf(hb);
          const from = Math.max(wa.from, wb.from);
          const until = Math.min(wa.until, wb.until);
          if (from < until && (best === null || from < best.from)) best = { from, until };
        }
      }
    }
  }
  if (best === null) return null;
  const sides: ViolationSide[] = [];
  for (const byItem of [a, b]) {
    for (const list of byItem.values()) {
      const held = within(list, best);
      if (held.length > 0) sides.push({ item: held[0]!.item, holdings: held });
    }
  }
  return { sides, from: new Date(best.from).toISOString(), until: iso(best.until) };
}

/** The earliest moment more than `max` distinct items of the set are held at once. */
function atMostConflict(
  set: ReadonlyMap<string, Holding[]>,
  max: number,
): { sides: ViolationSide[]; from: string; until: string | null } | null {
  if (set.size <= max) return null;
  const starts = [...set.values()].flatMap((list) => list.map((h) => windowOf(h).from)).sort((x, y) => x - y);
  for (const t of starts) {
    const held: ViolationSide[] = [];
    let until = Number.POSITIVE_INFINITY;
    for (const list of set.values()) {
      const at = list.filter((h) => {
        const w = windowOf(h);
        return w.from <= t && t < w.until;
      });
      if (at.length === 0) continue;
      held.push({ item: at[0]!.item, holdings: at });
      for (const h of at) until = Math.min(until, windowOf(h).until);
    }
    if (held.length > max) return { sides: held, from: new Date(t).toISOString(), until: iso(until) };
  }
  return null;
}

/** What one enabled, present account holds: entitlements, and whether Tenure granted each. */
export interface HeldAccount {
  system: string;
  username: string;
  entitlements: readonly string[];
  isManaged(key: string): boolean;
}

/** The enabled, present accounts among `accounts`, as holdings read them. */
export function heldAccountsOf(accounts: readonly Account[]): HeldAccount[] {
  return accounts
    .filter((a) => a.enabled && !a.vanishedAt)
    .map((a) => ({
      system: a.system,
      username: a.username,
      entitlements: a.entitlements,
      isManaged: (key: string) => a.managedEntitlements.includes(key),
    }));
}

/** What the effective access of one identity is gathered from. */
export interface HoldingsInput {
  policy: Policy;
  /** Desired access now, and the roles held now (DesiredStateCalculator.computeWithRoles). */
  desired: DesiredAccess;
  roles: ReadonlyMap<string, readonly Lineage[]>;
  /** The identity's assignments: those starting later are held from their start. */
  assignments: readonly Assignment[];
  /** What the identity's enabled accounts hold, as reconcile last read them: what is really in the targets. */
  accounts: readonly HeldAccount[];
  employment: number;
  now: Date;
}

/**
 * Effective access of one identity: roles and entitlements held now by policy or assignment (open-ended
 * for birthright, to the assignment's end otherwise), assignments that start later (from their start),
 * and entitlements found on its enabled accounts by reconcile (whoever put them there). Only items some
 * rule names are gathered (`names`), which keeps a scan of everyone cheap.
 */
export function holdingsOf(input: HoldingsInput, names: (item: SodItem) => boolean): Holding[] {
  const { desired, now } = input;
  const nowIso = now.toISOString();
  const nowMs = now.getTime();
  const out: Holding[] = [];
  const push = (item: SodItem, lineage: readonly Lineage[]) => {
    // One holding per window: an assignment's lineage ends with it; policy's and found access do not.
    let open: Lineage[] | null = null;
    for (const l of lineage) {
      const until = l.kind === "assignment" ? l.validUntil : l.kind === "mover-grace" ? l.until : null;
      if (until === null) {
        open ??= [];
        open.push(l);
      } else out.push({ item, from: nowIso, until, source: "desired", lineage: [l] });
    }
    if (open !== null) out.push({ item, from: nowIso, until: null, source: "desired", lineage: open });
  };
  for (const [role, lineage] of input.roles) {
    const item: SodItem = { kind: "role", role };
    if (names(item)) push(item, lineage);
  }
  for (const system of Object.values(desired.systems)) {
    if (system.presence !== "enabled") continue;
    for (const key of Object.keys(system.entitlements)) {
      const item: SodItem = { kind: "entitlement", system: system.system, entitlement: key };
      if (names(item)) push(item, system.entitlements[key]!);
    }
  }
  for (const a of input.assignments) {
    if (a.revokedAt !== null || a.employment !== input.employment || Date.parse(a.validFrom) <= nowMs)
      continue;
    if (a.validUntil !== null && Date.parse(a.validUntil) <= Date.parse(a.validFrom)) continue;
    const lineage: Lineage = {
      kind: "assignment",
      assignmentId: a.id,
      target: describeAssignmentTarget(a.target),
      validUntil: a.validUntil,
      ...(a.requestId ? { requestId: a.requestId } : {}),
    };
    const items: SodItem[] =
      "role" in a.target
        ? roleItems(input.policy, a.target.role)
        : [{ kind: "entitlement", system: a.target.system, entitlement: a.target.entitlement }];
    for (const item of items) {
      if (names(item)) {
        out.push({ item, from: a.validFrom, until: a.validUntil, source: "desired", lineage: [lineage] });
      }
    }
  }
  for (const account of input.accounts) {
    for (const key of account.entitlements) {
      const item: SodItem = { kind: "entitlement", system: account.system, entitlement: key };
      if (!names(item)) continue;
      out.push({
        item,
        from: nowIso,
        until: null,
        source: "found",
        lineage: [],
        account: {
          system: account.system,
          username: account.username,
          managed: account.isManaged(key),
        },
      });
    }
  }
  return out;
}

/**
 * Why a holding is held, in one phrase: "birthright role ap-clerk", "in erp on account jdoe (granted by
 * Tenure)", "found in erp on account jdoe, not granted by Tenure (added in the system directly)".
 */
export function describeHolding(h: Holding, now?: string): string {
  if (h.source === "found") {
    const where = `${h.account?.system ?? "the target"} on account ${h.account?.username ?? "?"}`;
    return h.account?.managed === true
      ? `in ${where} (granted by Tenure)`
      : `found in ${where}, not granted by Tenure (added in the system directly)`;
  }
  const why = h.lineage.map(describeGrantReason).join("; ");
  // Access held now says until when in its lineage; access starting later says from when. The scan's
  // own time is never part of it, so an unchanged violation reads the same at every scan.
  return now !== undefined && h.from > now ? `${why} (from ${h.from})` : why;
}

/**
 * One reason in words an owner acts on: `birthright role ap-clerk (department == "AP" at tenure.yaml:40)`,
 * `role payment-approver by request 2026… until …`, `role x by assignment a1 (an administrator's)`.
 */
function describeGrantReason(l: Lineage): string {
  switch (l.kind) {
    case "role": {
      const chain = l.chain.length > 1 ? l.chain.join(" → ") : l.role;
      const rule = l.rule === null ? "" : ` (${l.rule.source} at ${formatLocation(l.rule.location)})`;
      return `birthright role ${chain}${rule}`;
    }
    case "assignment": {
      const by = l.requestId ? `request ${l.requestId}` : `assignment ${l.assignmentId} (an administrator's)`;
      return `${l.target} by ${by}${l.validUntil === null ? "" : ` until ${l.validUntil}`}`;
    }
    default:
      return describeLineage(l);
  }
}
