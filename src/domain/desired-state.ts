import { type ExclusionIndex, indexExclusions, isPolicyLineage } from "./access-exclusion.js";
import type {
  Assignment,
  DerivedEntitlement,
  DesiredAccess,
  DesiredSystemAccess,
  Lineage,
  Policy,
  RoleDef,
  RuleFailure,
  SystemDef,
} from "./access-types.js";
import { assignmentStatus, describeAssignmentTarget } from "./assignment-status.js";
import { deriveEntitlement, mayDerive, withDerived } from "./derived-entitlement.js";
import type {
  AccessTrace,
  DesiredStateCalculator,
  DesiredStateContext,
  DesiredStateInput,
  RoleChain,
  RuleOutcome,
} from "./desired-state-types.js";
import type { WorkerAttributes } from "./identity-types.js";
import type { LifecycleConfig } from "./lifecycle-settings.js";
import { lifecycleVerdict } from "./lifecycle-verdict.js";
import { DAY_MS } from "./local-date.js";
import { indexPolicy } from "./policy-index.js";
import { evaluateRole, type MemoisedRule } from "./rule-memo.js";
import { type CompiledTemplate, compileTemplate, toUsername } from "./username-template.js";

interface IndexedSystem {
  def: SystemDef;
  /** Index into the compiled username templates, and of the fallback when one is configured. */
  username: number;
  fallback: number | undefined;
  attributes: { key: string; template: CompiledTemplate }[];
  privileged: ReadonlySet<string>;
}

interface ClosureEntry {
  role: IndexedRole;
  lineage: Lineage;
  /** `[lineage]`, frozen and shared by every identity holding the role this way. */
  lineages: readonly Lineage[];
}

interface IndexedRole extends MemoisedRule {
  def: RoleDef;
  grants: { system: number; entitlements: readonly string[]; derived: readonly DerivedEntitlement[] }[];
  /** The role itself first, then every role it includes transitively, each once, shortest chain first. */
  closure: ClosureEntry[];
}

interface SystemAccumulator {
  account: readonly Lineage[];
  entitlements: Record<string, readonly Lineage[]>;
}

function accumulatorAt(accumulators: (SystemAccumulator | undefined)[], i: number): SystemAccumulator {
  let acc = accumulators[i];
  if (acc === undefined) {
    // A dictionary from the start (no prototype): the keys differ from identity to identity, and adding
    // them one by one to a plain object made a hidden class per combination (0.5 s of a campaign's load).
    acc = { account: NO_LINEAGE, entitlements: Object.create(null) as Record<string, readonly Lineage[]> };
    accumulators[i] = acc;
  }
  return acc;
}

/**
 * Entitlement keys come from target systems and may be any string, "constructor" or "__proto__" too:
 * records of them (plain objects, or dictionaries without a prototype) are read and written through these
 * two.
 */
function getOwn<T>(record: Record<string, T>, key: string): T | undefined {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}
function setOwn<T>(record: Record<string, T>, key: string, value: T): void {
  if (key === "__proto__")
    Object.defineProperty(record, key, { value, enumerable: true, writable: true, configurable: true });
  else record[key] = value;
}

const NO_LINEAGE: readonly Lineage[] = Object.freeze([]);
const NO_DERIVED: readonly DerivedEntitlement[] = Object.freeze([]);

/** Adds a derived entitlement's lineages (made per identity, so appended rather than shared). */
function addDerived(acc: SystemAccumulator, key: string, lineages: readonly Lineage[]): void {
  const list = getOwn(acc.entitlements, key);
  setOwn(acc.entitlements, key, list === undefined ? lineages : [...list, ...lineages]);
}

/**
 * `list` with `items` added, each once. Lists are never mutated, only replaced: most identities hold a
 * grant through one role, and then every one of them shares that role's frozen list instead of a copy.
 */
function union(list: readonly Lineage[] | undefined, items: readonly Lineage[]): readonly Lineage[] {
  if (list === undefined || list.length === 0) return items;
  let out: Lineage[] | null = null;
  for (let i = 0; i < items.length; i++) {
    const item = items[i]!;
    if (list.includes(item) || out?.includes(item)) continue;
    out ??= [...list];
    out.push(item);
  }
  return out ?? list;
}

/**
 * Takes the excluded entitlements out of the accumulators: their policy lineages (rule, include, mover
 * grace) are dropped, and an entitlement nothing else gives (no assignment) is returned per system
 * index, with the exclusion first in its lineage, for `withheld` — so the plan revokes it.
 */
function excludeEntitlements(
  accumulators: (SystemAccumulator | undefined)[],
  systems: readonly IndexedSystem[],
  exclusions: ExclusionIndex,
): (Record<string, Lineage[]> | undefined)[] | null {
  if (exclusions.entitlements.size === 0) return null;
  const out: (Record<string, Lineage[]> | undefined)[] = new Array(accumulators.length);
  for (let i = 0; i < accumulators.length; i++) {
    const acc = accumulators[i];
    const keys = exclusions.entitlements.get(systems[i]!.def.name);
    if (acc === undefined || keys === undefined) continue;
    for (const [key, exclusion] of keys) {
      const lineages = getOwn(acc.entitlements, key);
      if (lineages === undefined) continue;
      const kept = lineages.filter((l) => !isPolicyLineage(l));
      if (kept.length > 0) {
        setOwn(acc.entitlements, key, kept);
        continue;
      }
      delete acc.entitlements[key];
      let refused = out[i];
      if (refused === undefined) {
        refused = {};
        out[i] = refused;
      }
      setOwn(refused, key, [exclusion, ...lineages]);
    }
  }
  return out;
}

/** Target texts a calculator keeps (see `targetText` in createDesiredStateCalculator). */
const TARGET_TEXTS = 100_000;

/** Builds the calculator for one policy; see DesiredStateCalculator. */
export function createDesiredStateCalculator(
  policy: Policy,
  lifecycle: LifecycleConfig,
): DesiredStateCalculator {
  const index = indexPolicy(policy);
  const systemIndex = index.order;
  // An entitlement assignment's target text, one string per target for the calculator's life (at most
  // TARGET_TEXTS of them): a campaign's million assignment lineages share them, where a string each was
  // a tenth of what its load holds.
  const targetTexts = new Map<string, Map<string, string>>();
  let targetTextCount = 0;
  const targetText = (target: Assignment["target"]): string => {
    if ("role" in target) return describeAssignmentTarget(target);
    let bySystem = targetTexts.get(target.system);
    if (bySystem === undefined) {
      bySystem = new Map();
      targetTexts.set(target.system, bySystem);
    }
    let text = bySystem.get(target.entitlement);
    if (text === undefined) {
      text = describeAssignmentTarget(target);
      if (targetTextCount < TARGET_TEXTS) {
        bySystem.set(target.entitlement, text);
        targetTextCount++;
      }
    }
    return text;
  };
  const usernameTemplates: CompiledTemplate[] = [];
  const usernameBySource = new Map<string, number>();
  const systems: IndexedSystem[] = index.systems.map((def) => {
    const templateIndex = (text: string): number => {
      let at = usernameBySource.get(text);
      if (at === undefined) {
        at = usernameTemplates.push(compileTemplate(text)) - 1;
        usernameBySource.set(text, at);
      }
      return at;
    };
    const username = templateIndex(def.account.username);
    const fallback =
      def.account.usernameFallback === undefined ? undefined : templateIndex(def.account.usernameFallback);
    const attributes = Object.entries(def.account.attributes).map(([key, text]) => ({
      key,
      template: compileTemplate(text),
    }));
    return { def, username, fallback, attributes, privileged: index.privileged.get(def.name)! };
  });

  const roles = new Map<string, IndexedRole>();
  for (const def of Object.values(policy.roles)) {
    const reads = def.when !== null && def.when.reads.length > 0 ? def.when.reads : null;
    roles.set(def.name, {
      def,
      rule: def.when,
      reads,
      // A rule that declares no reads cannot be keyed safely, so it is evaluated every time.
      memo: reads === null ? null : new Map(),
      memoSize: 0,
      memoLookups: 0,
      grants: def.grants.flatMap((g) => {
        const system = systemIndex.get(g.system);
        return system === undefined
          ? []
          : [{ system, entitlements: g.entitlements, derived: g.derived ?? NO_DERIVED }];
      }),
      closure: [],
    });
  }
  for (const role of roles.values()) {
    const ruleRef = role.rule === null ? null : { source: role.rule.source, location: role.rule.location };
    const seen = new Set<IndexedRole>([role]);
    const queue: { role: IndexedRole; chain: string[] }[] = [{ role, chain: [role.def.name] }];
    // Breadth-first over includes with a visited set: shortest chains win and a cycle cannot loop.
    for (let q = 0; q < queue.length; q++) {
      const { role: current, chain } = queue[q]!;
      const lineage: Lineage = Object.freeze({ kind: "role", role: current.def.name, chain, rule: ruleRef });
      role.closure.push({ role: current, lineage, lineages: Object.freeze([lineage]) });
      for (const name of current.def.includes) {
        const next = roles.get(name);
        if (next === undefined || seen.has(next)) continue;
        seen.add(next);
        queue.push({ role: next, chain: [...chain, name] });
      }
    }
  }
  const ruleRoles = [...roles.values()].filter((r) => r.rule !== null);

  function holdByRules(
    attributes: WorkerAttributes,
    held: Map<IndexedRole, readonly Lineage[]>,
    outcomes: Map<IndexedRole, RuleOutcome> | null,
    failures: RuleFailure[],
    excluded: ReadonlyMap<string, Lineage> | null,
  ): void {
    const direct: IndexedRole[] = [];
    for (let i = 0; i < ruleRoles.length; i++) {
      const role = ruleRoles[i]!;
      const outcome = evaluateRole(role, attributes);
      outcomes?.set(role, outcome);
      if (outcome.value) {
        if (excluded === null || !excluded.has(role.def.name)) direct.push(role);
      } else if (outcome.failed === true)
        failures.push({ role: role.def.name, location: role.rule!.location, error: outcome.error ?? "" });
    }
    // Roles matched by their own rule are explained by that rule, not by a chain that also includes them.
    for (const role of direct) held.set(role, role.closure[0]!.lineages);
    if (excluded !== null) {
      for (const role of direct) holdAvoiding(role, excluded, held);
      return;
    }
    for (const role of direct) {
      for (let i = 1; i < role.closure.length; i++) {
        const entry = role.closure[i]!;
        if (!held.has(entry.role)) held.set(entry.role, entry.lineages);
      }
    }
  }

  /**
   * The roles `root` includes, reached without passing through an excluded role (a reviewer refused it,
   * and with it what only it brings). Breadth-first like the closure, but per identity: only identities
   * with a role exclusion come here, so the shared closures stay as they are.
   */
  function holdAvoiding(
    root: IndexedRole,
    excluded: ReadonlyMap<string, Lineage>,
    held: Map<IndexedRole, readonly Lineage[]>,
  ): void {
    const first = root.closure[0]!.lineage;
    const ruleRef = first.kind === "role" ? first.rule : null;
    const seen = new Set<IndexedRole>([root]);
    const queue: { role: IndexedRole; chain: string[] }[] = [{ role: root, chain: [root.def.name] }];
    for (let q = 0; q < queue.length; q++) {
      const { role: current, chain } = queue[q]!;
      if (q > 0 && !held.has(current)) {
        held.set(current, [{ kind: "role", role: current.def.name, chain, rule: ruleRef }]);
      }
      for (const name of current.def.includes) {
        const next = roles.get(name);
        if (next === undefined || seen.has(next) || excluded.has(name)) continue;
        seen.add(next);
        queue.push({ role: next, chain: [...chain, name] });
      }
    }
  }

  function run(
    context: DesiredStateContext,
    trace: AccessTrace | null,
    heldRoles?: Map<string, readonly Lineage[]>,
    light = false,
  ): DesiredAccess {
    const { identity, now } = context;
    const nowMs = now.getTime();
    const attributes = identity.attributes;
    const currentOutcomes = trace === null ? null : new Map<IndexedRole, RuleOutcome>();
    const held = new Map<IndexedRole, readonly Lineage[]>();
    const failures: RuleFailure[] = [];
    const exclusions = indexExclusions(context.exclusions, identity);
    const excludedRoles = exclusions === null || exclusions.roles.size === 0 ? null : exclusions.roles;
    // Birthright rules are written over people's HR attributes: a non-human identity (kind service, see
    // nhi-types.ts) holds only what is assigned to it, never what a rule such as `when: true` gives everyone.
    const birthright = identity.kind !== "service";
    if (birthright) holdByRules(attributes, held, currentOutcomes, failures, excludedRoles);

    const extra: { system: number; entitlement: string; lineage: Lineage }[] = [];
    for (const assignment of context.assignments) {
      let status = assignmentStatus(assignment, identity, nowMs);
      let lineage: Lineage | null = null;
      if (status === "active") {
        const target = assignment.target;
        const role = "role" in target ? roles.get(target.role) : undefined;
        const system = "role" in target ? undefined : systemIndex.get(target.system);
        if (role === undefined && system === undefined) {
          status = "unknown-target";
        } else {
          lineage = {
            kind: "assignment",
            assignmentId: assignment.id,
            target: targetText(target),
            validUntil: assignment.validUntil,
            ...(assignment.requestId ? { requestId: assignment.requestId } : {}),
          };
          if (role !== undefined) {
            for (const entry of role.closure) {
              const list = held.get(entry.role);
              held.set(entry.role, list === undefined ? [lineage] : [...list, lineage]);
            }
          } else if (!("role" in target)) {
            extra.push({ system: system!, entitlement: target.entitlement, lineage });
          }
        }
      }
      trace?.assignments.push({ assignment, status, lineage });
    }

    let previousOutcomes: Map<IndexedRole, RuleOutcome> | null = null;
    // Roles held under the previous attributes while mover grace lasts, and until when.
    let graceBefore: Map<IndexedRole, readonly Lineage[]> | null = null;
    let graceUntil = "";
    const previous = identity.previousAttributes;
    const changedAt = identity.attributesChangedAt;
    if (birthright && lifecycle.moverGraceDays > 0 && previous !== null && changedAt !== null) {
      const untilMs = Date.parse(changedAt) + lifecycle.moverGraceDays * DAY_MS;
      const active = nowMs < untilMs;
      const until = Number.isNaN(untilMs) ? changedAt : new Date(untilMs).toISOString();
      if (trace !== null) trace.moverGrace = { changedAt, until, active };
      if (active) {
        previousOutcomes = trace === null ? null : new Map();
        const before = new Map<IndexedRole, readonly Lineage[]>();
        holdByRules(previous, before, previousOutcomes, failures, excludedRoles);
        for (const [role, lineages] of before) {
          if (held.has(role)) continue;
          held.set(role, [{ kind: "mover-grace", until, from: lineages[0]! }]);
        }
        graceBefore = before;
        graceUntil = until;
      }
    }

    if (heldRoles !== undefined) for (const [role, lineages] of held) heldRoles.set(role.def.name, lineages);
    const accumulators: (SystemAccumulator | undefined)[] = new Array(systems.length);
    for (const [role, lineages] of held) {
      for (const grant of role.grants) {
        const acc = accumulatorAt(accumulators, grant.system);
        acc.account = union(acc.account, lineages);
        for (const entitlement of grant.entitlements) {
          setOwn(acc.entitlements, entitlement, union(getOwn(acc.entitlements, entitlement), lineages));
        }
        for (const derived of grant.derived) {
          // Held now (rule or assignment): named by the current attributes. During mover grace the key
          // the previous attributes named stays too, as the grace keeps the rest of the old access.
          const now = lineages.filter((l) => l.kind !== "mover-grace");
          const current = now.length > 0 ? deriveEntitlement(derived, attributes) : null;
          if (current !== null) addDerived(acc, current.key, withDerived(now, current.from));
          const before = graceBefore?.get(role);
          const old = before === undefined ? null : deriveEntitlement(derived, previous!);
          if (old !== null && old.key !== current?.key) {
            const from = withDerived(before!, old.from)[0]!;
            addDerived(acc, old.key, [{ kind: "mover-grace", until: graceUntil, from }]);
          }
        }
      }
    }
    for (const grant of extra) {
      const acc = accumulatorAt(accumulators, grant.system);
      const lineages = [grant.lineage];
      acc.account = union(acc.account, lineages);
      setOwn(
        acc.entitlements,
        grant.entitlement,
        union(getOwn(acc.entitlements, grant.entitlement), lineages),
      );
    }

    const excludedOut = exclusions === null ? null : excludeEntitlements(accumulators, systems, exclusions);

    const verdict = lifecycleVerdict(identity, lifecycle, nowMs, context.today);
    const out: Record<string, DesiredSystemAccess> = {};
    let renderedUsernames: (string | undefined)[] | null = null;
    for (let i = 0; i < systems.length; i++) {
      const acc = accumulators[i];
      if (acc === undefined) continue;
      const system = systems[i]!;
      const name = system.def.name;
      let username: string | null = Object.hasOwn(context.usernames, name) ? context.usernames[name]! : null;
      if (username === null && !light) {
        // Systems usually share one template; render and transliterate it once per identity.
        renderedUsernames ??= new Array(usernameTemplates.length);
        const render = (template: number): string => {
          let rendered = renderedUsernames![template];
          if (rendered === undefined) {
            rendered = toUsername(usernameTemplates[template]!.render(attributes));
            renderedUsernames![template] = rendered;
          }
          return rendered;
        };
        let rendered = render(system.username);
        if (rendered === "" && system.fallback !== undefined) rendered = render(system.fallback);
        username = rendered === "" ? null : rendered;
      }
      const accountAttributes: Record<string, string | null> = {};
      if (!light) {
        for (const { key, template } of system.attributes)
          accountAttributes[key] = template.renderValue(attributes);
      }

      // Lineage lists may be shared between identities (see union): the result is read-only.
      let entitlements = acc.entitlements as Record<string, Lineage[]>;
      const withheld: Record<string, Lineage[]> = {};
      if (verdict.presence === "absent" || verdict.withhold !== "none") {
        const reason = verdict.presence === "absent" ? verdict.lineage! : verdict.withholdLineage!;
        const all = verdict.presence === "absent" || verdict.withhold === "all";
        entitlements = {};
        for (const key of Object.keys(acc.entitlements)) {
          const lineages = acc.entitlements[key]!;
          if (all || system.privileged.has(key)) setOwn(withheld, key, [reason, ...lineages]);
          else setOwn(entitlements, key, lineages as Lineage[]);
        }
      }
      const refused = excludedOut?.[i];
      if (refused !== undefined) {
        const absent = verdict.presence === "absent";
        const reason = absent ? verdict.lineage : verdict.withholdLineage;
        for (const key of Object.keys(refused)) {
          const lineages = refused[key]!;
          // Withheld by the lifecycle as well (a leaver): that reason is said first, as for any other.
          const lifecycleToo =
            absent ||
            verdict.withhold === "all" ||
            (verdict.withhold === "privileged" && system.privileged.has(key));
          setOwn(withheld, key, lifecycleToo && reason !== null ? [reason, ...lineages] : lineages);
        }
      }
      const presenceLineage =
        verdict.lineage === null ? (acc.account as Lineage[]) : [...acc.account, verdict.lineage];
      out[name] = {
        system: name,
        presence: verdict.presence,
        presenceLineage,
        username,
        attributes: accountAttributes,
        entitlements,
        withheld,
        ...(verdict.retainOnly === true ? { retainOnly: true } : {}),
      };
    }

    if (trace !== null) {
      trace.lifecycle = verdict;
      for (const role of roles.values()) {
        trace.roles.push({
          role: role.def,
          rule: currentOutcomes!.get(role) ?? null,
          previousRule: previousOutcomes?.get(role) ?? null,
          held: [...(held.get(role) ?? NO_LINEAGE)],
          excluded: excludedRoles?.get(role.def.name) ?? null,
        });
      }
    }
    // A rule stopped by its budget leaves this identity's access undecided: the planner leaves it alone.
    const employment = identity.employment;
    if (failures.length > 0)
      return { identityId: identity.id, employment, systems: out, ruleFailures: failures };
    return { identityId: identity.id, employment, systems: out };
  }

  function rolesGranting(system: string, entitlement?: string): RoleChain[] {
    const out: RoleChain[] = [];
    const index = systemIndex.get(system);
    if (index === undefined) return out;
    for (const role of roles.values()) {
      for (const entry of role.closure) {
        const grants = entry.role.grants.some(
          (g) =>
            g.system === index &&
            (entitlement === undefined ||
              g.entitlements.includes(entitlement) ||
              g.derived.some((d) => mayDerive(d, entitlement))),
        );
        if (grants && entry.lineage.kind === "role") {
          out.push({ role: role.def.name, chain: entry.lineage.chain });
          break;
        }
      }
    }
    return out;
  }

  return {
    policy,
    lifecycle,
    compute: (context) => run(context, null),
    computeWithRoles: (context, options) => {
      const roles = new Map<string, readonly Lineage[]>();
      return { desired: run(context, null, roles, options?.light === true), roles };
    },
    trace: (context) => {
      const trace: AccessTrace = {
        roles: [],
        assignments: [],
        moverGrace: null,
        lifecycle: lifecycleVerdict(context.identity, lifecycle, context.now.getTime(), context.today),
      };
      const desired = run(context, trace);
      return { desired, trace };
    },
    rolesGranting,
  };
}

const calculators = new WeakMap<Policy, WeakMap<LifecycleConfig, DesiredStateCalculator>>();

/**
 * The access `input.identity` should have in every system some held grant names, with the lineage of
 * every piece. Pure. Reuses one calculator per (policy, lifecycle) object pair, so calling it in a loop
 * costs no more than holding a calculator from `createDesiredStateCalculator`.
 *
 * Rules: roles whose `when` is true, their includes, and active assignments of the current employment;
 * during mover grace, roles held only under the previous attributes; presence from the lifecycle state
 * (prehire window, suspended, leaver, retention delete); a leaver's privileged (or all) entitlements,
 * and every entitlement of an absent account, move to `withheld`.
 */
export function computeDesiredAccess(input: DesiredStateInput): DesiredAccess {
  return calculatorFor(input.policy, input.lifecycle).compute(input);
}

/** The cached calculator for a (policy, lifecycle) pair. */
export function calculatorFor(policy: Policy, lifecycle: LifecycleConfig): DesiredStateCalculator {
  let byLifecycle = calculators.get(policy);
  if (byLifecycle === undefined) {
    byLifecycle = new WeakMap();
    calculators.set(policy, byLifecycle);
  }
  let calculator = byLifecycle.get(lifecycle);
  if (calculator === undefined) {
    calculator = createDesiredStateCalculator(policy, lifecycle);
    byLifecycle.set(lifecycle, calculator);
  }
  return calculator;
}
