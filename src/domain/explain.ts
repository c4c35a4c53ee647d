import type { AccountPresence, Assignment, DesiredAccess, Lineage, RoleDef } from "./access-types.js";
import { describeDerived, mayDerive } from "./derived-entitlement.js";
import { calculatorFor } from "./desired-state.js";
import type { AssignmentStatus, DesiredStateInput, RoleTrace } from "./desired-state-types.js";
import { type DormantHold, holdDormant } from "./dormant-hold.js";
import type { AttributeName, LifecycleState } from "./identity-types.js";
import { describeGrant, describeLineage, formatLocation, lifecycleNote } from "./lineage-format.js";

export interface ExplainOptions {
  /** Only what concerns this system. */
  system?: string;
  /** Only what concerns this entitlement: `system:key`, or `key` together with `system`. */
  entitlement?: string;
  /** Accounts held disabled by a dormant policy: explained as the plan treats them (never enabled). */
  dormant?: readonly DormantHold[];
}

export type ExplanationEntry =
  | {
      kind: "role";
      role: string;
      held: boolean;
      /** The birthright rule's verdict on the current attributes, with the values it read. */
      rule: {
        source: string;
        location: string;
        value: boolean;
        error: string | null;
        reads: { attribute: AttributeName; value: string | null }[];
      } | null;
      lineage: Lineage[];
      /** `wiki account`, `wiki:readers`: what the role itself grants. */
      grants: string[];
      line: string;
    }
  | {
      kind: "assignment";
      assignmentId: string;
      target: string;
      status: AssignmentStatus;
      validUntil: string | null;
      line: string;
    }
  | { kind: "mover-grace"; changedAt: string; until: string; active: boolean; line: string }
  | {
      kind: "account";
      system: string;
      presence: AccountPresence;
      username: string | null;
      lineage: Lineage[];
      line: string;
    }
  | {
      kind: "entitlement";
      system: string;
      entitlement: string;
      status: "desired" | "withheld" | "not-desired";
      privileged: boolean;
      lineage: Lineage[];
      line: string;
    };

/** Why an identity has (or lacks) each piece of access, as data and as lines for the CLI. */
export interface Explanation {
  identityId: string;
  state: LifecycleState;
  desired: DesiredAccess;
  entries: ExplanationEntry[];
  /** One line per entry, in the same order. */
  lines: string[];
}

function quote(value: string | null): string {
  return value === null ? "null" : `'${value}'`;
}

function grantsOf(role: RoleDef): string[] {
  const out: string[] = [];
  for (const grant of role.grants) {
    out.push(`${grant.system} account`);
    for (const e of grant.entitlements) out.push(`${grant.system}:${e}`);
    for (const d of grant.derived ?? []) out.push(`${grant.system}:${describeDerived(d)}`);
  }
  return out;
}

function roleGrantsIn(role: RoleDef, system: string | undefined, entitlement: string | undefined): boolean {
  if (system === undefined) return true;
  return role.grants.some(
    (g) =>
      g.system === system &&
      (entitlement === undefined ||
        g.entitlements.includes(entitlement) ||
        (g.derived ?? []).some((d) => mayDerive(d, entitlement))),
  );
}

function roleEntry(trace: RoleTrace, attributes: Readonly<Record<AttributeName, unknown>>): ExplanationEntry {
  const role = trace.role;
  const held = trace.held.length > 0;
  const parts: string[] = [];
  let rule: Extract<ExplanationEntry, { kind: "role" }>["rule"] = null;
  if (role.when !== null && trace.rule !== null) {
    const reads = role.when.reads.map((attribute) => ({
      attribute,
      value: (attributes[attribute] as string | null | undefined) ?? null,
    }));
    rule = {
      source: role.when.source,
      location: formatLocation(role.when.location),
      value: trace.rule.value,
      error: trace.rule.error ?? null,
      reads,
    };
    const values = reads.map((r) => `${r.attribute} is ${quote(r.value)}`).join(", ");
    if (trace.rule.failed === true) {
      // Stopped by the evaluation budget: the planner leaves this identity's access as it is.
      parts.push(
        `\`${rule.source}\` failed (${trace.rule.error}): nothing is planned for this identity while it fails`,
      );
    } else if (trace.rule.error !== undefined) {
      parts.push(
        `\`${rule.source}\` failed (${trace.rule.error}) and counts as false${values ? `, ${values}` : ""}`,
      );
    } else if (trace.rule.value) {
      parts.push(`\`${rule.source}\` is true`);
    } else {
      parts.push(`\`${rule.source}\` is false${values ? `, ${values}` : ""}`);
    }
  } else {
    parts.push("no birthright rule");
  }
  for (const lineage of trace.held) {
    if (lineage.kind === "role" && lineage.chain.length > 1) {
      parts.push(`held through ${lineage.chain.join(" → ")}`);
    } else if (lineage.kind !== "role") {
      parts.push(`held through ${describeLineage(lineage)}`);
    }
  }
  if (trace.excluded !== null && trace.excluded.kind === "lifecycle") {
    // A reviewer refused it: the rule (or an include, or mover grace) no longer gives it.
    parts.push(`${trace.excluded.note}: not held through policy`);
  } else if (!held && role.when === null) parts.push("not included by a held role nor assigned");
  const location = rule?.location ?? formatLocation(role.location);
  const grants = grantsOf(role);
  const tail = held && grants.length > 0 ? ` → grants ${grants.join(", ")}` : "";
  return {
    kind: "role",
    role: role.name,
    held,
    rule,
    lineage: trace.held,
    grants,
    line: `role ${role.name}: ${parts.join("; ")} (${location})${tail}`,
  };
}

function assignmentTarget(a: Assignment): string {
  return "role" in a.target ? `role ${a.target.role}` : `${a.target.system}:${a.target.entitlement}`;
}

function assignmentEntry(a: Assignment, status: AssignmentStatus, employment: number): ExplanationEntry {
  const target = assignmentTarget(a);
  const until = a.validUntil === null ? "with no end date" : `until ${a.validUntil}`;
  let line: string;
  switch (status) {
    case "active":
      line = `assignment ${a.id} grants ${target} ${until}`;
      break;
    case "revoked":
      line = `assignment ${a.id} (${target}) does not count: revoked at ${a.revokedAt}`;
      break;
    case "expired":
      line = `assignment ${a.id} (${target}) does not count: expired at ${a.validUntil}`;
      break;
    case "not-yet-valid":
      line = `assignment ${a.id} (${target}) does not count yet: valid from ${a.validFrom}`;
      break;
    case "earlier-employment":
      line = `assignment ${a.id} (${target}) does not count: granted in employment ${a.employment}, the identity is in employment ${employment} (a rehire never resurrects access)`;
      break;
    case "other-identity":
      line = `assignment ${a.id} (${target}) belongs to identity ${a.identityId}`;
      break;
    case "unknown-target":
      line = `assignment ${a.id} (${target}) does not count: the policy defines no such ${"role" in a.target ? "role" : "system"}`;
      break;
  }
  return { kind: "assignment", assignmentId: a.id, target, status, validUntil: a.validUntil, line };
}

/**
 * Why each piece of access is desired for the identity — or why not: every role's rule with the values
 * it read, include chains, assignments (and why inactive ones do not count), mover grace, each account's
 * presence with the lifecycle policy behind it, and each entitlement (withheld ones with the reason).
 * With `system` / `entitlement`, only what concerns them, including the roles that would grant them.
 * Pure: same input, same explanation.
 */
export function explainAccess(input: DesiredStateInput, options: ExplainOptions = {}): Explanation {
  let system = options.system;
  let entitlement = options.entitlement;
  if (entitlement !== undefined && system === undefined) {
    const colon = entitlement.indexOf(":");
    if (colon > 0) {
      system = entitlement.slice(0, colon);
      entitlement = entitlement.slice(colon + 1);
    }
  }
  const calculator = calculatorFor(input.policy, input.lifecycle);
  const { desired, trace } = calculator.trace(input);
  holdDormant(desired, options.dormant);
  const identity = input.identity;
  const entries: ExplanationEntry[] = [];

  // With a filter, roles matter when they (or a role they include) grant the target.
  const relevant =
    system === undefined ? null : new Set(calculator.rolesGranting(system, entitlement).map((r) => r.role));
  for (const role of trace.roles) {
    if (relevant !== null && !relevant.has(role.role.name)) continue;
    // A held role that grants the target only through an included role is explained by that role's line.
    if (relevant !== null && role.held.length > 0 && !roleGrantsIn(role.role, system, entitlement)) continue;
    entries.push(roleEntry(role, identity.attributes));
  }
  for (const { assignment, status } of trace.assignments) {
    if (system !== undefined) {
      const t = assignment.target;
      const concerns =
        "role" in t
          ? relevant!.has(t.role)
          : t.system === system && (entitlement === undefined || t.entitlement === entitlement);
      if (!concerns) continue;
    }
    entries.push(assignmentEntry(assignment, status, identity.employment));
  }
  if (trace.moverGrace?.active) {
    const { changedAt, until, active } = trace.moverGrace;
    const kept = trace.roles
      .filter((r) => r.held.some((l) => l.kind === "mover-grace"))
      .map((r) => r.role.name);
    if (system === undefined || kept.some((name) => relevant!.has(name))) {
      entries.push({
        kind: "mover-grace",
        changedAt,
        until,
        active,
        line: `mover grace: attributes changed at ${changedAt}; ${kept.length > 0 ? `role ${kept.join(", ")} kept` : "roles held only before the change are kept"} until ${until} (lifecycle.moverGraceDays = ${input.lifecycle.moverGraceDays})`,
      });
    }
  }

  const systems = system === undefined ? Object.keys(desired.systems) : [system];
  for (const name of systems) {
    const access = Object.hasOwn(desired.systems, name) ? desired.systems[name] : undefined;
    const privileged = (key: string) => input.policy.entitlements[name]?.[key]?.privileged ?? false;
    if (access === undefined) {
      const why = Object.hasOwn(input.policy.systems, name)
        ? "no held role or active assignment grants one"
        : "the policy defines no such system";
      entries.push({
        kind: "account",
        system: name,
        presence: "absent",
        username: null,
        lineage: [],
        line: `${name}: no account: ${why}`,
      });
      if (entitlement !== undefined) {
        entries.push({
          kind: "entitlement",
          system: name,
          entitlement,
          status: "not-desired",
          privileged: privileged(entitlement),
          lineage: [],
          line: `${name}:${entitlement} is not desired: ${why.replace(/ one$/, " it")}`,
        });
      }
      continue;
    }
    const who = access.username ?? "(no username)";
    const grant = describeGrant(access.presenceLineage);
    const note = lifecycleNote(access.presenceLineage);
    const presenceText = access.presence === "absent" ? "no account" : `account ${who} ${access.presence}`;
    entries.push({
      kind: "account",
      system: name,
      presence: access.presence,
      username: access.username,
      lineage: access.presenceLineage,
      line: `${name}: ${presenceText}${grant === "" ? "" : `, granted by ${grant}`}${note === null ? "" : `: ${note}`}`,
    });
    const keys =
      entitlement !== undefined
        ? [entitlement]
        : [...Object.keys(access.entitlements), ...Object.keys(access.withheld)].sort();
    for (const key of keys) {
      const label = `${name}:${key}`;
      const isPrivileged = privileged(key);
      if (Object.hasOwn(access.entitlements, key)) {
        const lineage = access.entitlements[key]!;
        entries.push({
          kind: "entitlement",
          system: name,
          entitlement: key,
          status: "desired",
          privileged: isPrivileged,
          lineage,
          line: `${label} is desired: granted by ${lineage.map(describeLineage).join(", ")}`,
        });
      } else if (Object.hasOwn(access.withheld, key)) {
        const lineage = access.withheld[key]!;
        entries.push({
          kind: "entitlement",
          system: name,
          entitlement: key,
          status: "withheld",
          privileged: isPrivileged,
          lineage,
          line: `${label} is ${isPrivileged ? "privileged and " : ""}withheld: ${lifecycleNote(lineage) ?? "by lifecycle policy"}`,
        });
      } else {
        entries.push({
          kind: "entitlement",
          system: name,
          entitlement: key,
          status: "not-desired",
          privileged: isPrivileged,
          lineage: [],
          line: `${label} is not desired: no held role or active assignment grants it`,
        });
      }
    }
  }
  return {
    identityId: identity.id,
    state: identity.state,
    desired,
    entries,
    lines: entries.map((e) => e.line),
  };
}
