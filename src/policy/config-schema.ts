import type { z } from "zod";
import type { TenureConfig } from "./config-types.js";
import { strictObject } from "./schema-helpers.js";
import { databaseSection, resolveDatabase } from "./sections/database-section.js";
import { lifecycleSection } from "./sections/lifecycle-section.js";
import { resolveSources, sourcesSection } from "./sections/sources-section.js";

/**
 * Top-level sections DESIGN.md names that this version does not implement yet. Writing one is an
 * error (a silently ignored `roles:` would be worse), but it gets a message saying so rather than
 * "unknown key". Each moves from here into {@link configFileSchema} when it lands.
 */
export const PLANNED_SECTIONS = [
  "systems",
  "entitlements",
  "roles",
  "sod",
  "reviews",
  "nhi",
  "notify",
  "server",
] as const;

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
 * against the file's folder, each source named after its key. Pure; the result is not yet frozen.
 */
export function buildConfig(file: ConfigFile, origin: { path: string; baseDir: string }): TenureConfig {
  const ctx = { baseDir: origin.baseDir };
  return {
    path: origin.path,
    baseDir: origin.baseDir,
    database: resolveDatabase(file.database, ctx),
    sources: resolveSources(file.sources, ctx),
    lifecycle: file.lifecycle,
  };
}
