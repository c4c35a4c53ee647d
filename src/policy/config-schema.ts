import type { z } from "zod";
import { strictObject } from "../config/schema-helpers.js";
import type { PolicyContext } from "../config/section-types.js";
import type { Policy } from "../domain/access-types.js";
import type { ReviewPolicy } from "../domain/review-types.js";
import { notifySection, resolveNotify } from "../notify/notify-section.js";
import type { TenureConfig } from "./config-types.js";
import { auditSection, resolveAudit } from "./sections/audit-section.js";
import { databaseSection, resolveDatabase } from "./sections/database-section.js";
import { entitlementsSection, resolveEntitlements } from "./sections/entitlements-section.js";
import { lifecycleSection } from "./sections/lifecycle-section.js";
import { nhiSection, resolveNhi } from "./sections/nhi-section.js";
import { requestsSection, resolveRequests } from "./sections/requests-section.js";
import { resolveReviews, reviewsSection } from "./sections/reviews-section.js";
import { resolveRoles, rolesSection } from "./sections/roles-section.js";
import { secretsSection } from "./sections/secrets-section.js";
import { serverSection } from "./sections/server-section.js";
import { resolveSod, sodSection } from "./sections/sod-section.js";
import { resolveSources, sourcesSection } from "./sections/sources-section.js";
import { resolveSystems, systemsSection } from "./sections/systems-section.js";

/**
 * Top-level sections docs/architecture.md plans that this version does not implement yet. Writing one is an
 * error (a silently ignored `roles:` would be worse), but it gets a message saying so rather than
 * "unknown key". Each moves from here into {@link configFileSchema} when it lands.
 */
export const PLANNED_SECTIONS = [] as const;

/**
 * The shape of tenure.yaml: the one place where sections are composed. Adding a section means a
 * file under `sections/` exporting its schema (with its defaults) and, if it needs the config's
 * folder or other context, a resolve function; a line here; a line in {@link buildConfig}; and a
 * field in `TenureConfig`.
 */
export const configFileSchema = strictObject(
  {
    database: databaseSection,
    sources: sourcesSection,
    lifecycle: lifecycleSection,
    systems: systemsSection,
    entitlements: entitlementsSection,
    roles: rolesSection,
    requests: requestsSection,
    sod: sodSection,
    reviews: reviewsSection,
    nhi: nhiSection,
    notify: notifySection.optional(),
    audit: auditSection.optional(),
    server: serverSection,
    secrets: secretsSection,
  },
  {
    explainUnknownKey: (key) =>
      (PLANNED_SECTIONS as readonly string[]).includes(key)
        ? `section '${key}' is not supported by this version of Tenure yet`
        : undefined,
  },
);

/** tenure.yaml after validation and defaults, before paths are resolved. */
export type ConfigFile = z.output<typeof configFileSchema>;

/**
 * Turns a validated file into the config the rest of Tenure uses: every relative path made absolute
 * against the file's folder, each source and system named after its key, the policy sections compiled
 * with the location of each definition. Problems only visible across sections (a grant naming an
 * undeclared entitlement, an include cycle) go to `ctx.report`; the caller must not use the result
 * when any were reported. Pure; the result is not yet frozen.
 */
export function buildConfig(file: ConfigFile, ctx: PolicyContext & { readonly path: string }): TenureConfig {
  const systems = resolveSystems(file.systems, ctx);
  const entitlements = resolveEntitlements(file.entitlements, systems, ctx);
  const roles = resolveRoles(file.roles, systems, entitlements, ctx);
  const sod = resolveSod(file.sod, { systems, entitlements, roles }, ctx);
  const policy: Policy = { systems, entitlements, roles, ...(sod === undefined ? {} : { sod }) };
  const notify = file.notify === undefined ? undefined : resolveNotify(file.notify, ctx);
  const nhi = resolveNhi(file.nhi, policy, ctx);
  return {
    path: ctx.path,
    baseDir: ctx.baseDir,
    database: resolveDatabase(file.database, ctx),
    sources: resolveSources(file.sources, ctx),
    lifecycle: file.lifecycle,
    policy,
    requests: resolveRequests(file.requests, policy, ctx),
    reviews: resolveReviews(file.reviews, policy, ctx),
    ...(nhi === undefined ? {} : { nhi }),
    ...(notify === undefined ? {} : { notify }),
    ...(file.audit === undefined ? {} : { audit: resolveAudit(file.audit, ctx, notify) }),
    server: file.server,
  };
}

/** A policy with no systems, entitlements or roles, for configs built in code (tests, benchmarks). */
export const EMPTY_POLICY: Policy = Object.freeze({
  systems: Object.freeze({}),
  entitlements: Object.freeze({}),
  roles: Object.freeze({}),
});

/**
 * No campaigns, no mover reviews, no dormant checks: what `reviews` is when tenure.yaml has no such
 * section, and how to read a config built in code without one (`config.reviews ?? EMPTY_REVIEW_POLICY`).
 */
export const EMPTY_REVIEW_POLICY: ReviewPolicy = Object.freeze({
  campaigns: Object.freeze({}),
  moverReview: false,
  dormant: Object.freeze({}),
});
