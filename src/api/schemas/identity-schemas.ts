import { z } from "zod";
import { EMPLOYMENT_TYPES, HR_STATUSES, LIFECYCLE_STATES } from "../../domain/identity-types.js";
import { lineageSchema, openObject, pageOf, pageQuery } from "./common-schemas.js";

const text = z.string().nullable();

/** The attributes of an identity, as its source maps them (docs/configuration.md, sources). */
export const attributesSchema = z.object({
  employeeId: z.string(),
  givenName: z.string(),
  familyName: z.string(),
  displayName: z.string(),
  email: text,
  department: text,
  title: text,
  location: text,
  costCenter: text,
  managerId: text,
  employmentType: z.enum(EMPLOYMENT_TYPES),
  status: z.enum(HR_STATUSES),
  startDate: text.describe("YYYY-MM-DD"),
  endDate: text.describe("YYYY-MM-DD"),
  terminationDate: text.describe("YYYY-MM-DD"),
});

export const identitySchema = z
  .object({
    id: z.string(),
    kind: z.enum(["human", "service"]),
    source: z.string(),
    sourceKey: z.string().describe("the identity's key in its source (e.g. the HR employee id)"),
    state: z.enum(LIFECYCLE_STATES),
    stateSince: z.string(),
    employment: z.number().int().describe("1 for the first employment, one more for each rehire"),
    attributes: attributesSchema,
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .meta({ id: "Identity" });

export const identityListQuery = z.strictObject({
  state: z.enum(LIFECYCLE_STATES).optional(),
  source: z.string().min(1).optional(),
  department: z.string().min(1).optional(),
  q: z.string().min(1).max(200).optional().describe("matches key, email, name or id (case-insensitive)"),
  ...pageQuery,
});

export const identityRefParams = z.strictObject({
  ref: z.string().min(1).max(320).describe("the identity's id, source key or email"),
});

export const identityPage = pageOf(identitySchema);

export const accessQuery = z.strictObject({
  system: z.string().min(1).optional().describe("only what concerns this system"),
  entitlement: z
    .string()
    .min(1)
    .optional()
    .describe("only this entitlement: system:key, or key together with system"),
});

/** What `tenure explain` computes: every role, assignment, account and entitlement, with its lineage. */
export const explanationSchema = z
  .object({
    identityId: z.string(),
    state: z.enum(LIFECYCLE_STATES),
    desired: openObject({
      identityId: z.string(),
      systems: z.record(z.string(), openObject({ presence: z.string() })),
    }),
    entries: z.array(
      openObject({
        kind: z.enum(["role", "assignment", "mover-grace", "account", "entitlement"]),
        line: z.string(),
        lineage: z.array(lineageSchema).optional(),
      }),
    ),
    lines: z.array(z.string()).describe("one sentence per entry, as tenure explain prints them"),
  })
  .meta({ id: "Explanation" });
