import { z } from "zod";
import { strictObject } from "../../config/schema-helpers.js";
import type { PolicyContext } from "../../config/section-types.js";
import type {
  DerivedEntitlement,
  EntitlementDef,
  RoleDef,
  RoleGrant,
  SystemDef,
} from "../../domain/access-types.js";
import { ATTRIBUTE_NAMES } from "../../domain/identity-types.js";
import { compileTemplate } from "../../domain/username-template.js";
import { closestMatch } from "../../shared/did-you-mean.js";
import { unknownSystemMessage } from "./entitlements-section.js";
import { celRule, requestableSchema, resolveRequestable } from "./requestable-schema.js";
import { checkTemplate } from "./systems-section.js";

/** A role name: what includes, assignments, requests and explanations call the role. */
export const ROLE_NAME = /^[a-z][a-z0-9_-]*$/;

/** A birthright rule: CEL over the identity attributes, compiled once (see celRule). */
const rule = celRule();

/**
 * A lookup table from one attribute's value to an entitlement key:
 * `{ fromAttribute: department, map: { Sales: sales-team }, default: staff }`.
 */
const derivedMapSchema = strictObject({
  fromAttribute: z.enum(ATTRIBUTE_NAMES, {
    error: `expected an attribute name: one of ${ATTRIBUTE_NAMES.join(", ")}`,
  }),
  map: z.record(z.string(), z.string().min(1, { error: "expected an entitlement key" })).default({}),
  default: z.string().min(1, { error: "expected an entitlement key" }).optional(),
}).refine((m) => Object.keys(m.map).length > 0 || m.default !== undefined, {
  error: "expected map entries or a default: this table names no entitlement",
});

/**
 * One entitlement of a grant: a key (`readers`), a template naming it from attributes
 * (`dept-{department|slug}`, any key with a `{placeholder}`), or a lookup table ({@link derivedMapSchema}).
 */
const entitlementKey = z
  .string()
  .min(1, { error: "expected an entitlement key" })
  .superRefine((key, ctx) => {
    if (isTemplate(key)) checkTemplate(key, ctx);
  });
// Chosen by the value's type, so a mistake in a table is reported as one (a union says only "invalid").
const grantEntitlement = z
  .custom<string | z.output<typeof derivedMapSchema>>()
  .superRefine((value, ctx) => {
    const isMap = typeof value === "object" && value !== null && !Array.isArray(value);
    const result = (isMap ? derivedMapSchema : entitlementKey).safeParse(value);
    if (result.success) return;
    for (const issue of result.error.issues) {
      ctx.addIssue({ ...(issue as z.core.$ZodIssueCustom), code: "custom", path: [...issue.path] });
    }
  })
  .transform((value) => (typeof value === "string" ? value : derivedMapSchema.parse(value)));

const grantSchema = strictObject({
  system: z.string().min(1, { error: "expected a system name" }),
  entitlements: z.array(grantEntitlement).default([]),
});

const roleSchema = strictObject({
  description: z.string().optional(),
  when: rule.optional(),
  includes: z.array(z.string().min(1, { error: "expected a role name" })).default([]),
  grants: z.array(grantSchema).default([]),
  /** Who owns the role: decides requests of an approval step `owner`, reviews it. An email address or HR key. */
  owner: z.string().min(1, { error: "expected who owns the role, e.g. an email address" }).optional(),
  requestable: requestableSchema,
  /** Eligible, not standing: held only for a short window through `tenure elevate`. */
  elevation: z.boolean().default(false),
});

/**
 * `roles:` — business roles by name: what each grants (an account in a system and entitlements in
 * it), which roles it includes, the birthright rule that assigns it, and whether it can be requested.
 * References between roles, systems and entitlements are checked by {@link resolveRoles}.
 */
export const rolesSection = z
  .record(
    z.string().regex(ROLE_NAME, {
      error: "a role name starts with a lowercase letter and has only a-z, 0-9, '_' and '-'",
    }),
    roleSchema,
  )
  .default({});

export type RolesFile = z.output<typeof rolesSection>;

/**
 * Compiles the roles and reports every reference to something that does not exist: an included role,
 * a granted system, an entitlement not declared under `entitlements.<system>`; and every cycle of
 * includes, once, at the role of the cycle written first.
 */
export function resolveRoles(
  value: RolesFile,
  systems: Readonly<Record<string, SystemDef>>,
  entitlements: Readonly<Record<string, Readonly<Record<string, EntitlementDef>>>>,
  ctx: PolicyContext,
): Record<string, RoleDef> {
  const names = Object.keys(value);
  const systemNames = Object.keys(systems);
  const roles: Record<string, RoleDef> = {};
  for (const [name, role] of Object.entries(value)) {
    role.includes.forEach((included, i) => {
      if (!Object.hasOwn(value, included)) {
        ctx.report(["roles", name, "includes", i], unknownRoleMessage(included, names));
      }
    });
    role.grants.forEach((grant, i) => {
      const path = ["roles", name, "grants", i];
      if (!Object.hasOwn(systems, grant.system)) {
        ctx.report([...path, "system"], unknownSystemMessage(grant.system, systemNames));
        return;
      }
      const declared = entitlements[grant.system] ?? {};
      grant.entitlements.forEach((key, j) => {
        // Derived keys are whatever the attributes name: declared or not, a group made on demand.
        if (typeof key !== "string" || isTemplate(key)) return;
        if (!Object.hasOwn(declared, key)) {
          ctx.report(
            [...path, "entitlements", j],
            unknownEntitlementMessage(grant.system, key, Object.keys(declared)),
          );
        }
      });
    });
    if (role.elevation && role.requestable === false) {
      ctx.report(
        ["roles", name, "elevation"],
        "an elevation role must say who may elevate and for how long: add requestable (eligible, maxDuration, approval or autoApprove)",
      );
    }
    if (role.elevation && role.when !== undefined) {
      ctx.report(
        ["roles", name, "when"],
        "an elevation role is eligible, not standing: it cannot also be given by a birthright rule",
      );
    }
    roles[name] = {
      name,
      description: role.description ?? null,
      when:
        role.when === undefined
          ? null
          : { ...role.when, location: ctx.locate(["roles", name, "when"], "value") },
      includes: [...role.includes],
      grants: role.grants.map((grant, i) => compileGrant(grant, ["roles", name, "grants", i], ctx)),
      owner: role.owner ?? null,
      requestable: resolveRequestable(role.requestable, ["roles", name], ctx, { elevation: role.elevation }),
      elevation: role.elevation,
      location: ctx.locate(["roles", name]),
    };
  }
  for (const cycle of includeCycles(value)) {
    ctx.report(["roles", cycle[0] as string], `role cycle: ${cycle.join(" → ")}`, "key");
  }
  return roles;
}

/** Whether an entitlement of a grant is a template: it has an `{attribute…}` placeholder (`{{` is literal). */
function isTemplate(key: string): boolean {
  return /\{\s*[A-Za-z]/.test(key.replaceAll("{{", ""));
}

/** A grant as the domain takes it: fixed keys, and the entitlements named by attributes. */
function compileGrant(
  grant: RolesFile[string]["grants"][number],
  path: (string | number)[],
  ctx: PolicyContext,
): RoleGrant {
  const entitlements: string[] = [];
  const derived: DerivedEntitlement[] = [];
  grant.entitlements.forEach((item, j) => {
    const location = ctx.locate([...path, "entitlements", j], "value");
    if (typeof item === "string") {
      if (!isTemplate(item)) entitlements.push(item);
      else derived.push({ kind: "template", source: item, template: compileTemplate(item), location });
    } else {
      derived.push({
        kind: "map",
        attribute: item.fromAttribute,
        map: { ...item.map },
        default: item.default ?? null,
        location,
      });
    }
  });
  return { system: grant.system, entitlements, ...(derived.length > 0 ? { derived } : {}) };
}

/**
 * Every distinct cycle of `includes`, each as the path from its first-written role back to itself
 * (`[a, b, a]`). Includes of roles that do not exist are ignored here; they have their own issue.
 */
export function includeCycles(
  roles: Readonly<Record<string, { readonly includes: readonly string[] }>>,
): string[][] {
  const order = new Map(Object.keys(roles).map((name, i) => [name, i]));
  const done = new Set<string>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found = new Map<string, string[]>();
  const visit = (name: string): void => {
    stack.push(name);
    onStack.add(name);
    for (const next of roles[name]?.includes ?? []) {
      if (!order.has(next)) continue;
      if (onStack.has(next)) {
        const members = stack.slice(stack.indexOf(next));
        const first = members.reduce((a, b) => ((order.get(a) ?? 0) <= (order.get(b) ?? 0) ? a : b));
        const start = members.indexOf(first);
        const rotated = [...members.slice(start), ...members.slice(0, start)];
        const cycle = [...rotated, first];
        const key = cycle.join("\u0000");
        if (!found.has(key)) found.set(key, cycle);
      } else if (!done.has(next)) {
        visit(next);
      }
    }
    stack.pop();
    onStack.delete(name);
    done.add(name);
  };
  for (const name of order.keys()) if (!done.has(name)) visit(name);
  return [...found.values()].sort((a, b) => (order.get(a[0] ?? "") ?? 0) - (order.get(b[0] ?? "") ?? 0));
}

/** "unknown role 'x' — did you mean 'y'?", or that no role of that name is defined. */
export function unknownRoleMessage(name: string, roles: readonly string[]): string {
  const suggestion = closestMatch(name, roles);
  if (suggestion !== undefined) return `unknown role '${name}' — did you mean '${suggestion}'?`;
  return `unknown role '${name}': no role of that name is defined under roles:`;
}

/** "unknown entitlement 'k' of system 's' — did you mean …?", or what `entitlements.<system>` declares. */
export function unknownEntitlementMessage(system: string, key: string, declared: readonly string[]): string {
  const suggestion = closestMatch(key, declared);
  if (suggestion !== undefined) {
    return `unknown entitlement '${key}' of system '${system}' — did you mean '${suggestion}'?`;
  }
  if (declared.length === 0) {
    return `unknown entitlement '${key}': system '${system}' declares no entitlements (add them under entitlements.${system})`;
  }
  return `unknown entitlement '${key}' of system '${system}': entitlements.${system} declares ${declared.join(", ")}`;
}
