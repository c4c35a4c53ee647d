import { z } from "zod";
import { strictObject } from "../../config/schema-helpers.js";
import type { PolicyContext } from "../../config/section-types.js";
import type { EntitlementDef, RiskLevel, SystemDef } from "../../domain/access-types.js";
import { closestMatch } from "../../shared/did-you-mean.js";
import { requestableSchema, resolveRequestable } from "./requestable-schema.js";

export const RISK_LEVELS = ["low", "medium", "high", "critical"] as const satisfies readonly RiskLevel[];

/** One entitlement: a group, role or permission of a system that roles and requests can grant. */
const entitlementSchema = strictObject({
  displayName: z.string().min(1, { error: "expected a name for people to read" }).optional(),
  privileged: z.boolean().default(false),
  risk: z.enum(RISK_LEVELS).optional(),
  owner: z.string().min(1, { error: "expected who owns the entitlement, e.g. an email address" }).optional(),
  requestable: requestableSchema,
});

/**
 * `entitlements:` — system name → entitlement key → definition. The key is the entitlement as the
 * system names it (a group name, a role name), so any non-empty text is allowed. Each system named
 * here must be configured under `systems:`; that is checked by {@link resolveEntitlements}.
 */
export const entitlementsSection = z
  .record(
    z.string(),
    z.record(z.string().min(1, { error: "expected an entitlement key" }), entitlementSchema),
  )
  .default({});

export type EntitlementsFile = z.output<typeof entitlementsSection>;

/**
 * Compiles the entitlements of every configured system (an empty set for a system that declares
 * none) and reports those under a name that is not a configured system. Unset fields default:
 * `displayName` to the key, `risk` to `high` when privileged else `low`, `owner` to the system's owner.
 */
export function resolveEntitlements(
  value: EntitlementsFile,
  systems: Readonly<Record<string, SystemDef>>,
  ctx: PolicyContext,
): Record<string, Record<string, EntitlementDef>> {
  const result: Record<string, Record<string, EntitlementDef>> = {};
  for (const name of Object.keys(systems)) result[name] = {};
  for (const [systemName, definitions] of Object.entries(value)) {
    const system = systems[systemName];
    const compiled = result[systemName];
    if (system === undefined || compiled === undefined) {
      ctx.report(["entitlements", systemName], unknownSystemMessage(systemName, Object.keys(systems)), "key");
      continue;
    }
    for (const [key, definition] of Object.entries(definitions)) {
      compiled[key] = {
        system: systemName,
        key,
        displayName: definition.displayName ?? key,
        privileged: definition.privileged,
        risk: definition.risk ?? (definition.privileged ? "high" : "low"),
        owner: definition.owner ?? system.owner,
        requestable: resolveRequestable(definition.requestable, ["entitlements", systemName, key], ctx, {
          elevation: false,
        }),
        location: ctx.locate(["entitlements", systemName, key]),
      };
    }
  }
  return result;
}

/** "unknown system 'wikki' — did you mean 'wiki'?", or the systems there are. */
export function unknownSystemMessage(name: string, systems: readonly string[]): string {
  const suggestion = closestMatch(name, systems);
  if (suggestion !== undefined) return `unknown system '${name}' — did you mean '${suggestion}'?`;
  if (systems.length === 0) return `unknown system '${name}': no systems are configured under systems:`;
  return `unknown system '${name}': the systems configured under systems: are ${systems.join(", ")}`;
}
