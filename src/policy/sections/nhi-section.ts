import { resolve } from "node:path";
import { z } from "zod";
import { strictObject } from "../../config/schema-helpers.js";
import type { NodePath, PolicyContext } from "../../config/section-types.js";
import type { Policy, SourceLocation } from "../../domain/access-types.js";
import { instantOf } from "../../domain/nhi-findings.js";
import {
  NHI_TYPES,
  type NhiDeclaration,
  type NhiDiscoveryRule,
  type NhiType,
} from "../../domain/nhi-types.js";
import type { NhiConfig } from "../nhi-config.js";
import { unknownSystemMessage } from "./entitlements-section.js";
import { nhiCertificatesSchema, resolveNhiCertificates } from "./nhi-certificates-schema.js";
import {
  NHI_DATE as DATE,
  fastNhiEntry,
  NHI_INSTANT as INSTANT,
  NHI_NAME as NAME,
} from "./nhi-entry-fast.js";
import { readInventoryFile } from "./nhi-inventory-file.js";
import { nhiRotationSchema, resolveNhiRotation } from "./nhi-rotation-schema.js";
import { durationSchema } from "./requestable-schema.js";
import { unknownEntitlementMessage } from "./roles-section.js";
import { cronPattern } from "./schedule-section.js";

const NAME_TEXT =
  "expected a name of letters, digits, '.', '_', '@' and '-', starting with a letter or digit";
const TYPES_TEXT = `expected a type: ${NHI_TYPES.join(", ")}`;

const person = z.string({ error: "expected an identity's HR key, email or id" }).min(1, {
  error: "expected an identity's HR key, email or id",
});

const calendarDate = z
  .string({ error: "expected a date YYYY-MM-DD" })
  .refine((v) => DATE.test(v) && !Number.isNaN(instantOf(v)), { error: "expected a date YYYY-MM-DD" });

const dateOrInstant = z
  .string({ error: "expected a date YYYY-MM-DD or an ISO-8601 instant" })
  .refine((v) => (DATE.test(v) || INSTANT.test(v)) && !Number.isNaN(instantOf(v)), {
    error: "expected a date YYYY-MM-DD or an ISO-8601 instant",
  });

/** `SYSTEM:KEY`, split at the first ':'. */
const entitlementRef = z
  .string({ error: "expected SYSTEM:KEY, e.g. directory:billing-readers" })
  .regex(/^[^:\s][^:]*:[\s\S]+$/, { error: "expected SYSTEM:KEY, e.g. directory:billing-readers" });

const nhiType = z.enum(NHI_TYPES, { error: TYPES_TEXT });

/** One NHI, in `nhi.inventory` and in inventory files alike. */
export const nhiEntrySchema = strictObject({
  name: z.string({ error: NAME_TEXT }).regex(NAME, { error: NAME_TEXT }).max(200, { error: NAME_TEXT }),
  type: nhiType,
  system: z.string().min(1, { error: "expected a system name" }).optional(),
  purpose: z.string().max(1000, { error: "expected the purpose in at most 1000 characters" }).optional(),
  owner: person.optional(),
  coOwners: z.array(person, { error: "expected a list of identities" }).default([]),
  created: calendarDate.optional(),
  lastRotated: dateOrInstant.optional(),
  expires: dateOrInstant.optional(),
  /** When the credential was last used, where known (an unknown last use is never flagged as unused). */
  lastUsed: dateOrInstant.optional(),
  scopes: z
    .array(z.string().min(1, { error: "expected a scope" }), { error: "expected a list of scopes" })
    .default([]),
  /** When each scope was last used, where known: `{ "read:user": 2026-03-01 }`. */
  scopeLastUsed: z
    .record(z.string().min(1, { error: "expected a scope" }), dateOrInstant, {
      error: "expected scope: date pairs, e.g. { read:user: 2026-03-01 }",
    })
    .default({}),
  entitlements: z.array(entitlementRef, { error: "expected a list of SYSTEM:KEY" }).default([]),
});

type EntryFile = z.output<typeof nhiEntrySchema>;

/** A duration, or `off` for no limit. */
const ageLimit = z.union([z.literal("off"), durationSchema]);

const policySchema = strictObject({
  ownerRequired: z.boolean({ error: "expected true or false" }).default(true),
  maxCredentialAge: strictObject({
    service_account: ageLimit.prefault("90d"),
    api_key: ageLimit.prefault("90d"),
    oauth_app: ageLimit.prefault("365d"),
    certificate: ageLimit.prefault("398d"),
    agent: ageLimit.prefault("30d"),
  }).prefault({}),
  expiryWarnings: z
    .array(durationSchema, { error: "expected a list of durations before expiry, e.g. [30d, 7d, 1d]" })
    .prefault(["30d", "7d", "1d"]),
  allowedScopes: z
    .partialRecord(nhiType, z.array(z.string().min(1, { error: "expected a scope" })))
    .default({}),
  /** How long without use makes an NHI or one of its scopes unused, per type (`off`: never). */
  unusedAfter: strictObject({
    service_account: ageLimit.prefault("90d"),
    api_key: ageLimit.prefault("90d"),
    oauth_app: ageLimit.prefault("90d"),
    certificate: ageLimit.prefault("off"),
    agent: ageLimit.prefault("30d"),
  }).prefault({}),
  onOwnerLeave: strictObject({
    passTo: z.enum(["manager", "fallback"], { error: "expected manager or fallback" }).default("manager"),
    fallback: person.optional(),
    confirmWithin: durationSchema.prefault("7d"),
    onMove: z.boolean({ error: "expected true or false" }).default(false),
    otherwise: z.enum(["disable", "keep"], { error: "expected disable or keep" }).default("disable"),
  }).prefault({}),
}).prefault({});

const discoverSchema = strictObject({
  system: z.string().min(1, { error: "expected a system name" }),
  type: nhiType.default("service_account"),
  dnUnder: z.string().min(1, { error: "expected a DN, e.g. ou=services,dc=example,dc=org" }).optional(),
  usernameLike: z.string().min(1, { error: "expected a LIKE pattern, e.g. svc_%" }).optional(),
}).refine((rule) => (rule.dnUnder === undefined) !== (rule.usernameLike === undefined), {
  error: "expected one of dnUnder (entries under a DN) or usernameLike (a pattern such as svc_%)",
});

/**
 * `nhi:` — non-human identities (docs/nhi.md): the policy they are held to, the inventory (here and in
 * inventory files), discovery rules over reconciled accounts, when the NHI jobs run, and the certificate
 * inventory and credential rotation (their own schema files).
 */
export const nhiSection = strictObject({
  policy: policySchema,
  inventory: z.array(nhiEntrySchema, { error: "expected a list of non-human identities" }).default([]),
  inventoryFiles: z
    .array(z.string().min(1, { error: "expected the path of a YAML or JSON file" }), {
      error: "expected a list of YAML or JSON files",
    })
    .default([]),
  discover: z.array(discoverSchema, { error: "expected a list of discovery rules" }).default([]),
  /** When inventory sync, owner succession and expiry warnings run (`tenure serve`). */
  schedule: cronPattern().default("0 * * * *"),
  certificates: nhiCertificatesSchema.optional(),
  rotation: nhiRotationSchema.optional(),
}).optional();

export type NhiFile = z.output<typeof nhiSection>;

/**
 * Compiles `nhi:` (undefined when the file has none), reading the inventory files. Reported through `ctx`,
 * each where it is written (in tenure.yaml or the inventory file): an inventory file that cannot be read or
 * holds a bad entry; an unknown system or entitlement; a name declared twice; `expires` before `created`;
 * `passTo: fallback` without a fallback; a discovery rule for an unknown system. Owners are identity keys
 * the store knows, not the configuration: they are checked when the inventory is synced. A scope outside
 * `allowedScopes` is a finding, not a load error.
 */
export function resolveNhi(file: NhiFile, policy: Policy, ctx: PolicyContext): NhiConfig | undefined {
  if (file === undefined) return undefined;
  const systems = Object.keys(policy.systems);
  const declared: NhiDeclaration[] = [];
  const firstAt = new Map<string, SourceLocation>();

  const check = (
    entry: EntryFile,
    origin: "config" | "file",
    path: NodePath,
    locate: (path: NodePath, target?: "key" | "value") => SourceLocation,
    report: (path: NodePath, message: string) => void,
  ) => {
    const location = locate(path, "value");
    const first = firstAt.get(entry.name);
    if (first !== undefined) {
      report(
        [...path, "name"],
        `NHI '${entry.name}' is declared twice: first at ${first.file}:${first.line}`,
      );
    } else {
      firstAt.set(entry.name, location);
    }
    if (entry.system !== undefined && !Object.hasOwn(policy.systems, entry.system)) {
      report([...path, "system"], unknownSystemMessage(entry.system, systems));
    }
    entry.entitlements.forEach((ref, i) => {
      const colon = ref.indexOf(":");
      const system = ref.slice(0, colon);
      const key = ref.slice(colon + 1);
      if (!Object.hasOwn(policy.systems, system)) {
        report([...path, "entitlements", i], unknownSystemMessage(system, systems));
        return;
      }
      const known = policy.entitlements[system] ?? {};
      if (!Object.hasOwn(known, key)) {
        report([...path, "entitlements", i], unknownEntitlementMessage(system, key, Object.keys(known)));
      }
    });
    if (entry.created !== undefined && entry.expires !== undefined) {
      if (instantOf(entry.expires) < instantOf(entry.created)) {
        report([...path, "expires"], `expires (${entry.expires}) is before created (${entry.created})`);
      }
    }
    if (entry.created !== undefined && entry.lastRotated !== undefined) {
      if (instantOf(entry.lastRotated) < instantOf(entry.created)) {
        report(
          [...path, "lastRotated"],
          `lastRotated (${entry.lastRotated}) is before created (${entry.created})`,
        );
      }
    }
    if (entry.created !== undefined && entry.lastUsed !== undefined) {
      if (instantOf(entry.lastUsed) < instantOf(entry.created)) {
        report([...path, "lastUsed"], `lastUsed (${entry.lastUsed}) is before created (${entry.created})`);
      }
    }
    for (const scope of Object.keys(entry.scopeLastUsed)) {
      if (!entry.scopes.includes(scope)) {
        report(
          [...path, "scopeLastUsed", scope],
          `scope ${scope} has a last use but is not in scopes (${entry.scopes.join(", ") || "none"})`,
        );
      }
    }
    declared.push({
      name: entry.name,
      type: entry.type,
      system: entry.system ?? null,
      purpose: entry.purpose ?? null,
      owner: entry.owner ?? null,
      coOwners: entry.coOwners,
      created: entry.created ?? null,
      lastRotated: entry.lastRotated ?? null,
      expires: entry.expires ?? null,
      lastUsed: entry.lastUsed ?? null,
      scopes: entry.scopes,
      scopeLastUsed: entry.scopeLastUsed,
      entitlements: entry.entitlements,
      origin,
      location,
    });
  };

  file.inventory.forEach((entry, i) => {
    check(
      entry,
      "config",
      ["nhi", "inventory", i],
      (p, t) => ctx.locate(p, t),
      (p, m) => ctx.report(p, m),
    );
  });
  file.inventoryFiles.forEach((written, i) => {
    const path = resolve(ctx.baseDir, written);
    const read = readInventoryFile(path, nhiEntrySchema, fastNhiEntry);
    if (!read.ok) {
      for (const p of read.problems) {
        if (p.location === null) ctx.report(["nhi", "inventoryFiles", i], p.message);
        else ctx.reportAt(p.location, p.path, p.message);
      }
      return;
    }
    read.entries.forEach((entry, index) => {
      check(entry, "file", [index], read.locate, (p, m) => ctx.reportAt(read.locate(p), p, m));
    });
  });

  const discover: NhiDiscoveryRule[] = file.discover.map((rule, i) => {
    const path = ["nhi", "discover", i];
    if (!Object.hasOwn(policy.systems, rule.system)) {
      ctx.report([...path, "system"], unknownSystemMessage(rule.system, systems));
    }
    return {
      system: rule.system,
      type: rule.type,
      dnUnder: rule.dnUnder ?? null,
      usernameLike: rule.usernameLike ?? null,
      location: ctx.locate(path, "value"),
    };
  });

  const leave = file.policy.onOwnerLeave;
  if (leave.passTo === "fallback" && leave.fallback === undefined) {
    ctx.report(
      ["nhi", "policy", "onOwnerLeave", "passTo"],
      "passTo: fallback needs a fallback: the identity ownership passes to",
    );
  }
  const maxAge: Partial<Record<NhiType, number>> = {};
  const unusedAfter: Partial<Record<NhiType, number>> = {};
  for (const type of NHI_TYPES) {
    const limit = file.policy.maxCredentialAge[type];
    if (limit !== "off") maxAge[type] = limit;
    const idle = file.policy.unusedAfter[type];
    if (idle !== "off") unusedAfter[type] = idle;
  }
  return {
    policy: {
      ownerRequired: file.policy.ownerRequired,
      maxCredentialAgeMs: maxAge,
      expiryWarningsMs: [...new Set(file.policy.expiryWarnings)].sort((a, b) => b - a),
      allowedScopes: file.policy.allowedScopes,
      unusedAfterMs: unusedAfter,
      onOwnerLeave: {
        passTo: leave.passTo,
        fallback: leave.fallback ?? null,
        confirmWithinMs: leave.confirmWithin,
        onMove: leave.onMove,
        otherwise: leave.otherwise,
      },
    },
    inventory: declared,
    discover,
    schedule: file.schedule,
    ...(file.certificates === undefined
      ? {}
      : { certificates: resolveNhiCertificates(file.certificates, ctx.baseDir) }),
    ...(file.rotation === undefined ? {} : { rotation: resolveNhiRotation(file.rotation, ctx.baseDir) }),
  };
}
