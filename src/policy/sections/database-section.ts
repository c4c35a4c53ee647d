import { isAbsolute, resolve } from "node:path";
import { z } from "zod";
import type { SectionContext } from "../../config/section-types.js";
import { secret } from "../../shared/secret-field.js";

export const DEFAULT_DATABASE = "sqlite:./tenure.db";
const SQLITE_MEMORY = "sqlite::memory:";

const EXPECTED = "expected sqlite:PATH, sqlite::memory: or a postgres://USER@HOST/DB URL";

function isDatabaseUrl(value: string): boolean {
  if (value === SQLITE_MEMORY) return true;
  if (value.startsWith("sqlite:")) return value.length > "sqlite:".length;
  if (!/^postgres(ql)?:\/\//.test(value)) return false;
  try {
    new URL(value);
    return true;
  } catch {
    return false;
  }
}

/**
 * `database:` — where Tenure keeps its state. A string: `sqlite:PATH`, `sqlite::memory:` or a
 * `postgres://` / `postgresql://` URL (a password in it is best written as `${env:…}`).
 */
export const databaseSection = secret(z.string().refine(isDatabaseUrl, { error: EXPECTED })).default(
  DEFAULT_DATABASE,
);

/** Makes a relative SQLite path absolute against the config's folder; other URLs pass unchanged. */
export function resolveDatabase(value: z.output<typeof databaseSection>, ctx: SectionContext): string {
  if (value === SQLITE_MEMORY || !value.startsWith("sqlite:")) return value;
  const file = value.slice("sqlite:".length);
  return isAbsolute(file) ? value : `sqlite:${resolve(ctx.baseDir, file)}`;
}
