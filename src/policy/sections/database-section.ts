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

/**
 * The URL with its password, and any query parameter whose name mentions a password or secret,
 * replaced by `***`, for anything that prints or logs a database URL. Works on the text rather than
 * a parsed URL so that malformed URLs (an unencoded `@` or `/` in the password) are masked too,
 * erring towards hiding more. A password written as a single `${env:…}` / `${file:…}` reference is
 * left as is: it names where the secret lives, not the secret.
 */
export function redactDatabaseUrl(url: string): string {
  const scheme = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.exec(url);
  if (scheme === null) return url;
  const rest = url.slice(scheme[0].length);
  const queryStart = rest.indexOf("?");
  const beforeQuery = queryStart === -1 ? rest : rest.slice(0, queryStart);
  const query = queryStart === -1 ? "" : rest.slice(queryStart);
  let main = beforeQuery;
  const at = beforeQuery.lastIndexOf("@");
  const colon = at === -1 ? -1 : beforeQuery.slice(0, at).indexOf(":");
  if (colon !== -1) {
    const password = beforeQuery.slice(colon + 1, at);
    if (password !== "" && !isReference(password)) {
      main = `${beforeQuery.slice(0, colon + 1)}***${beforeQuery.slice(at)}`;
    }
  }
  const maskedQuery = query.replace(/([?&][^=&#]*(?:pass|secret)[^=&#]*=)([^&#]*)/gi, (whole, name, value) =>
    value === "" || isReference(value) ? whole : `${name}***`,
  );
  return `${scheme[0]}${main}${maskedQuery}`;
}

function isReference(text: string): boolean {
  return /^\$\{(env|file):[^}]*\}$/.test(text);
}
