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

/**
 * For a connector schema's refinement: parses a server URL, reporting "is not a valid URL" or "needs a
 * host" as an issue. Returns the URL, or undefined after an issue. Messages never echo the URL: it may
 * carry a password.
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
  return parsed;
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
