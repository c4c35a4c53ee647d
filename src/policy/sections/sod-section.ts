import { z } from "zod";
import { strictObject } from "../../config/schema-helpers.js";
import type { NodePath, PolicyContext } from "../../config/section-types.js";
import type { Policy } from "../../domain/access-types.js";
import { formatSodItem, roleBundleConflicts, roleItems } from "../../domain/sod-role-check.js";
import type {
  MitigatingControl,
  SodCondition,
  SodItem,
  SodPolicy,
  SodRule,
  SodSeverity,
} from "../../domain/sod-types.js";
import { unknownSystemMessage } from "./entitlements-section.js";
import { celRule } from "./requestable-schema.js";
import { unknownEntitlementMessage, unknownRoleMessage } from "./roles-section.js";

/** The most rules `sod.rules` may hold, and the most items one side (or `of`) may list. */
export const SOD_MAX_RULES = 1000;
export const SOD_MAX_ITEMS = 500;
export const SOD_MAX_MITIGATIONS = 100;
export const SOD_MAX_DESCRIPTION = 500;

const SOD_RULE_NAME = /^[a-z][a-z0-9_-]*$/;
const SEVERITIES = ["high", "medium", "low"] as const satisfies readonly SodSeverity[];

const person = z.string().min(1, { error: "expected an email address, HR key or identity id" });

const descriptionText = `expected the risk in words, 1 to ${SOD_MAX_DESCRIPTION} characters`;

/** `SYSTEM:KEY`, split at the first ':' (a key may hold ':' itself). */
const entitlementRef = z
  .string({ error: "expected SYSTEM:KEY, e.g. erp:payment-approve" })
  .regex(/^[^:\s][^:]*:[\s\S]+$/, { error: "expected SYSTEM:KEY, e.g. erp:payment-approve" });

/**
 * A set of access a rule names: `roles` and/or `entitlements` (`SYSTEM:KEY`), at least one item, at
 * most {@link SOD_MAX_ITEMS}, none twice.
 */
const itemSetSchema = strictObject({
  roles: z.array(z.string().min(1, { error: "expected a role name" })).default([]),
  entitlements: z.array(entitlementRef).default([]),
}).superRefine((set, ctx) => {
  const count = set.roles.length + set.entitlements.length;
  if (count === 0) {
    ctx.addIssue({ code: "custom", message: "expected at least one item in roles or entitlements" });
    return;
  }
  if (count > SOD_MAX_ITEMS) {
    ctx.addIssue({
      code: "custom",
      message: `expected at most ${SOD_MAX_ITEMS} roles and entitlements in one set (it lists ${count})`,
    });
    return;
  }
  for (const list of ["roles", "entitlements"] as const) {
    const seen = new Set<string>();
    set[list].forEach((item, i) => {
      if (seen.has(item))
        ctx.addIssue({ code: "custom", path: [list, i], message: "listed twice in this set" });
      seen.add(item);
    });
  }
});

const mitigationSchema = strictObject({
  control: z
    .string({ error: "expected the control in words" })
    .regex(/\S/, { error: "expected the control in words" }),
  owner: person.optional(),
});

const ruleSchema = strictObject({
  description: z
    .string({ error: descriptionText })
    .regex(/\S/, { error: descriptionText })
    .max(SOD_MAX_DESCRIPTION, { error: descriptionText }),
  severity: z.enum(SEVERITIES, { error: `expected ${SEVERITIES.join(", ")}` }),
  owner: person.optional(),
  scope: celRule().optional(),
  sideA: itemSetSchema.optional(),
  sideB: itemSetSchema.optional(),
  atMost: z
    .number({ error: "expected how many items of 'of' one person may hold (1 or more)" })
    .int({ error: "expected how many items of 'of' one person may hold (1 or more)" })
    .min(1, { error: "expected how many items of 'of' one person may hold (1 or more)" })
    .optional(),
  of: itemSetSchema.optional(),
  mitigations: z
    .array(mitigationSchema)
    .max(SOD_MAX_MITIGATIONS, { error: `expected at most ${SOD_MAX_MITIGATIONS} mitigating controls` })
    .default([]),
});

const rulesSchema = z
  // Counted before any rule is parsed, so an oversized file costs no compilation.
  .record(z.string(), z.unknown(), { error: "expected a mapping of rule name → rule" })
  .refine((rules) => Object.keys(rules).length <= SOD_MAX_RULES, {
    error: `expected at most ${SOD_MAX_RULES.toLocaleString("en")} rules`,
  })
  .pipe(
    z.record(
      z.string().regex(SOD_RULE_NAME, {
        error: "a rule name starts with a lowercase letter and has only a-z, 0-9, '_' and '-'",
      }),
      ruleSchema,
    ),
  );

/**
 * `sod:` — separation of duties: access that must not be held together (docs/sod.md). Each rule is
 * `sideA` + `sideB` (any item of one with any of the other) or `atMost` + `of` (more than N items of a
 * set); which form, and the references, are checked by {@link resolveSod}.
 */
export const sodSection = strictObject({
  onBirthrightConflict: z
    .enum(["report", "withhold"], { error: "expected report or withhold" })
    .default("report"),
  rules: rulesSchema.default({}),
}).optional();

export type SodFile = z.output<typeof sodSection>;
type RuleFile = z.output<typeof ruleSchema>;
type ItemSetFile = z.output<typeof itemSetSchema>;

/**
 * Compiles `sod:` (undefined when the file has no such section) and reports, through `ctx`, what only
 * the rest of the policy shows: a rule with neither or both forms, or half of one; an `atMost` that no
 * one could exceed; an item naming a role, system or entitlement not defined; an item on both sides of
 * a pair rule; and a role whose own definition breaks a rule (at the role, naming the rule and where it
 * is written). `policy` is the compiled systems, entitlements and roles.
 */
export function resolveSod(file: SodFile, policy: Policy, ctx: PolicyContext): SodPolicy | undefined {
  if (file === undefined) return undefined;
  const rules: Record<string, SodRule> = {};
  // Rules whose form is already reported wrong: what a role holds of them would only repeat that.
  const broken = new Set<string>();
  for (const [name, rule] of Object.entries(file.rules)) {
    const path = ["sod", "rules", name];
    const report: PolicyContext["report"] = (...args) => {
      broken.add(name);
      ctx.report(...args);
    };
    rules[name] = {
      name,
      description: rule.description,
      severity: rule.severity,
      owner: rule.owner ?? null,
      condition: resolveCondition(
        rule,
        path,
        policy,
        {
          baseDir: ctx.baseDir,
          locate: (p, t) => ctx.locate(p, t),
          report,
          reportAt: (l, p, m) => ctx.reportAt(l, p, m),
        },
        ctx,
      ),
      scope:
        rule.scope === undefined
          ? null
          : { ...rule.scope, location: ctx.locate([...path, "scope"], "value") },
      mitigations: rule.mitigations.map(
        (m): MitigatingControl => ({ control: m.control, owner: m.owner ?? null }),
      ),
      location: ctx.locate(path),
    };
  }
  const sod: SodPolicy = { rules, onBirthrightConflict: file.onBirthrightConflict };
  for (const conflict of roleBundleConflicts(policy, sod)) {
    if (broken.has(conflict.rule)) continue;
    const rule = rules[conflict.rule] as SodRule;
    ctx.report(
      ["roles", conflict.role],
      roleBundleMessage(policy, conflict.role, rule, conflict.items),
      "key",
    );
  }
  return sod;
}

/**
 * The rule's form, with its items checked. A rule that has neither form, both, or half of one, or an
 * item on both sides, goes to `ctx`; a reference to something undefined goes to `references`.
 */
function resolveCondition(
  rule: RuleFile,
  path: NodePath,
  policy: Policy,
  ctx: PolicyContext,
  references: PolicyContext,
): SodCondition {
  const pairKeys = (["sideA", "sideB"] as const).filter((k) => rule[k] !== undefined);
  const atMostKeys = (["atMost", "of"] as const).filter((k) => rule[k] !== undefined);
  if (pairKeys.length > 0 && atMostKeys.length > 0) {
    ctx.report(
      [...path, atMostKeys[0] as string],
      "a rule has one form: sideA and sideB (any of one with any of the other), or atMost and of (at most N of a set) — not both",
      "key",
    );
  } else if (pairKeys.length === 0 && atMostKeys.length === 0) {
    ctx.report(
      path,
      "expected sideA and sideB (any of one with any of the other), or atMost and of (at most N of a set)",
      "key",
    );
  } else if (pairKeys.length === 1) {
    const missing = pairKeys[0] === "sideA" ? "sideB" : "sideA";
    ctx.report(
      [...path, pairKeys[0] as string],
      `expected ${missing} too: the rule is any item of sideA held with any item of sideB`,
      "key",
    );
  } else if (atMostKeys.length === 1) {
    ctx.report(
      [...path, atMostKeys[0] as string],
      atMostKeys[0] === "atMost"
        ? "expected of too: the set of which at most this many may be held"
        : "expected atMost too: how many items of this set one person may hold",
      "key",
    );
  }

  if (rule.atMost !== undefined || rule.of !== undefined) {
    const items = rule.of === undefined ? [] : resolveItems(rule.of, [...path, "of"], policy, references);
    const max = rule.atMost ?? 0;
    if (rule.atMost !== undefined && rule.of !== undefined && pairKeys.length === 0 && max >= items.length) {
      ctx.report(
        [...path, "atMost"],
        `expected fewer than the ${items.length} item${items.length === 1 ? "" : "s"} of 'of': with atMost ${max} nobody could ever break the rule`,
      );
    }
    if (pairKeys.length === 0) return { kind: "atMost", max, items };
  }
  const sideA =
    rule.sideA === undefined ? [] : resolveItems(rule.sideA, [...path, "sideA"], policy, references);
  const sideB =
    rule.sideB === undefined ? [] : resolveItems(rule.sideB, [...path, "sideB"], policy, references);
  if (rule.sideB !== undefined) {
    const onA = new Set(sideA.map(formatSodItem));
    const at = itemPaths(rule.sideB, [...path, "sideB"]);
    sideB.forEach((item, i) => {
      if (onA.has(formatSodItem(item))) {
        ctx.report(
          at[i] as NodePath,
          `${formatSodItem(item)} is on both sides of this rule: whoever holds it would break the rule with nothing else`,
        );
      }
    });
  }
  return { kind: "pair", sideA, sideB };
}

/** The items of a set, roles first, each checked against the policy (reported where it is written). */
function resolveItems(set: ItemSetFile, path: NodePath, policy: Policy, ctx: PolicyContext): SodItem[] {
  const roleNames = Object.keys(policy.roles);
  const systemNames = Object.keys(policy.systems);
  const items: SodItem[] = [];
  set.roles.forEach((role, i) => {
    if (!Object.hasOwn(policy.roles, role)) {
      ctx.report([...path, "roles", i], unknownRoleMessage(role, roleNames));
    }
    items.push({ kind: "role", role });
  });
  set.entitlements.forEach((ref, i) => {
    const colon = ref.indexOf(":");
    const system = ref.slice(0, colon);
    const entitlement = ref.slice(colon + 1);
    if (!Object.hasOwn(policy.systems, system)) {
      ctx.report([...path, "entitlements", i], unknownSystemMessage(system, systemNames));
    } else {
      const declared = policy.entitlements[system] ?? {};
      if (!Object.hasOwn(declared, entitlement)) {
        ctx.report(
          [...path, "entitlements", i],
          unknownEntitlementMessage(system, entitlement, Object.keys(declared)),
        );
      }
    }
    items.push({ kind: "entitlement", system, entitlement });
  });
  return items;
}

/** Where each item of {@link resolveItems}'s result is written, in the same order. */
function itemPaths(set: ItemSetFile, path: NodePath): NodePath[] {
  return [
    ...set.roles.map((_, i) => [...path, "roles", i]),
    ...set.entitlements.map((_, i) => [...path, "entitlements", i]),
  ];
}

/**
 * "role 'ap-lead' breaks separation-of-duties rule 'vendor-payment' (tenure.yaml:40) by itself: it
 * holds role ap-clerk and erp:payment-approve (through role approver)".
 */
function roleBundleMessage(policy: Policy, role: string, rule: SodRule, items: readonly SodItem[]): string {
  const closure = roleItems(policy, role).flatMap((i) => (i.kind === "role" ? [i.role] : []));
  const describe = (item: SodItem): string => {
    if (item.kind === "role") return formatSodItem(item);
    const from = closure.find((r) =>
      policy.roles[r]?.grants.some(
        (g) => g.system === item.system && g.entitlements.includes(item.entitlement),
      ),
    );
    return from === undefined || from === role
      ? formatSodItem(item)
      : `${formatSodItem(item)} (through role ${from})`;
  };
  const c = rule.condition;
  let held: string;
  if (c.kind === "pair") {
    const a = items.filter((item) => c.sideA.some((x) => formatSodItem(x) === formatSodItem(item)));
    const b = items.filter((item) => c.sideB.some((x) => formatSodItem(x) === formatSodItem(item)));
    held = `it holds ${listOf(a.map(describe))} of side A and ${listOf(b.map(describe))} of side B`;
  } else {
    held = `it holds ${listOf(items.map(describe))}, more than the ${c.max} the rule allows`;
  }
  const where = `${rule.location.file}:${rule.location.line}`;
  const scoped = rule.scope === null ? "" : " — for everyone in the rule's scope";
  return `role '${role}' breaks separation-of-duties rule '${rule.name}' (${where}) by itself: ${held}${scoped}`;
}

function listOf(parts: readonly string[]): string {
  if (parts.length <= 1) return parts.join("");
  return `${parts.slice(0, -1).join(", ")} and ${parts.at(-1)}`;
}
