import { z } from "zod";
import { deepFreeze } from "../shared/deep-freeze.js";
import { InvalidInputError } from "../shared/errors.js";

/**
 * Parses one system's connector configuration with its connector's schema, frozen.
 * @throws InvalidInputError naming `systems.<system>.<path>` for every problem. Only the schema's
 *   messages are used, which never echo values, so URLs and secrets stay out of the error.
 */
export function parseConnectorConfig<S extends z.ZodType>(
  type: string,
  schema: S,
  system: string,
  raw: unknown,
): z.output<S> {
  const result = schema.safeParse(raw);
  if (!result.success) {
    const details = result.error.issues.map(
      (issue) => `systems.${system}${issue.path.map((p) => `.${String(p)}`).join("")}: ${issue.message}`,
    );
    throw new InvalidInputError(`systems.${system}: invalid ${type} connector configuration`, details);
  }
  return deepFreeze(result.data);
}

/** The `sslmode` values node-postgres knows; any other it reads as "use SSL", silently. */
const SSL_MODES = ["disable", "prefer", "require", "no-verify", "verify-ca", "verify-full"];

/**
 * For a connector schema's refinement: parses a database server URL as its driver will, reporting what
 * the driver would otherwise trip over only when the first operation runs: not a URL (a port that is
 * not a number from 0 to 65535 included), no host, a user name, password or database that is not valid
 * percent-encoding (the drivers decode them), a path that names more than one database, an `sslmode`
 * node-postgres does not know. Returns the URL, or undefined after an issue. Messages never echo the
 * URL: it may carry a password.
 */
export function parseServerUrl(url: string, ctx: z.RefinementCtx): URL | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    ctx.addIssue({ code: "custom", message: "is not a valid URL" });
    return undefined;
  }
  if (parsed.hostname === "") {
    ctx.addIssue({ code: "custom", message: "needs a host" });
    return undefined;
  }
  const parts = [
    ["user name", parsed.username],
    ["password", parsed.password],
    ["database", parsed.pathname.slice(1)],
  ] as const;
  for (const [part, text] of parts) {
    if (!isPercentEncoded(text)) {
      ctx.addIssue({ code: "custom", message: `the ${part} is not valid percent-encoding (write % as %25)` });
      return undefined;
    }
  }
  if (parsed.pathname.slice(1).includes("/")) {
    ctx.addIssue({ code: "custom", message: "the path must name one database (/DB)" });
    return undefined;
  }
  const sslmode = parsed.searchParams.get("sslmode");
  if (sslmode !== null && !SSL_MODES.includes(sslmode)) {
    ctx.addIssue({ code: "custom", message: `sslmode must be one of ${SSL_MODES.join(", ")}` });
    return undefined;
  }
  return parsed;
}

function isPercentEncoded(text: string): boolean {
  try {
    decodeURIComponent(text);
    return true;
  } catch {
    return false;
  }
}

/**
 * A database server URL whose scheme is one of `schemes` (`postgres` for `postgres://…`), with a host,
 * and with query parameters only when the driver takes them.
 */
export function serverUrlSchema(schemes: readonly string[], options: { query: boolean }) {
  const allowed = schemes.map((scheme) => `${scheme}://…`);
  return z.string().superRefine((url, ctx) => {
    if (!schemes.some((scheme) => url.startsWith(`${scheme}://`))) {
      ctx.addIssue({ code: "custom", message: `must be ${allowed.join(" or ")}` });
      return;
    }
    const parsed = parseServerUrl(url, ctx);
    if (parsed !== undefined && !options.query && parsed.search !== "") {
      ctx.addIssue({ code: "custom", message: "query parameters are not supported" });
    }
  });
}
