import { z } from "zod";

/**
 * The configuration fields that hold secrets: passwords, tokens, keys and connection URLs. Only these
 * may be written as `${env:NAME}` or `${file:PATH}` in tenure.yaml (the loader refuses a reference
 * anywhere else), and their values are what must never reach a message, a log or an API answer.
 *
 * Kept in `shared/` because both the policy sections and the connectors' own schemas declare fields.
 */
const secretFields = z.registry<{ readonly secret: true }, z.ZodType>();

/**
 * A copy of `schema` declared a secret field: `password: secret(z.string().min(1))`. A copy, so a
 * schema shared with fields that are not secret stays as it was. Apply it last, to the schema that
 * checks the value; wrapping it afterwards (`.optional()`, `.default()`) keeps the mark, but a method
 * that returns a new schema of the same kind (`secret(z.string()).min(1)`) loses it. Marking a mapping
 * or list marks everything in it.
 */
export function secret<S extends z.ZodType>(schema: S): S {
  const copy = schema.clone() as S;
  secretFields.add(copy as z.ZodType, { secret: true });
  return copy;
}

/** Whether `schema` itself was declared with {@link secret}; wrappers are not looked through here. */
export function isDeclaredSecret(schema: z.ZodType): boolean {
  return secretFields.has(schema);
}
