import type { z } from "zod";
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
