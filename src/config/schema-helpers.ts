import { z } from "zod";
import { closestMatch } from "../shared/did-you-mean.js";
import { isDeclaredSecret } from "../shared/secret-field.js";

/**
 * Marks the zod issue raised for a key an object does not declare. The loader reads it to place the
 * issue on the key itself (not its value) and to keep the message as written here.
 */
export const UNKNOWN_KEY = "tenure.unknown_key";

/** Options of {@link strictObject}. */
export interface StrictObjectOptions {
  /**
   * A message for particular unknown keys, e.g. a top-level section this version does not support
   * yet. Returning undefined falls back to the usual "unknown key … did you mean …" message.
   */
  readonly explainUnknownKey?: (key: string) => string | undefined;
}

/**
 * An object schema in which every key not in `shape` is an error, one issue per key, at the key's
 * path, with the closest known key suggested when one is near.
 *
 * zod's own strict mode reports all unknown keys of an object in one issue at the object's path,
 * which can point neither at each key nor suggest per key; a catch-all that always fails gives us
 * one issue per key instead. The static type is that of `z.strictObject(shape)`, which is what the
 * runtime behaviour amounts to.
 */
export function strictObject<const Shape extends z.ZodRawShape>(
  shape: Shape,
  options: StrictObjectOptions = {},
): z.ZodObject<Shape, z.core.$strict> {
  const known = Object.keys(shape);
  const unknownKey = z.custom<never>(() => false, {
    params: { tenure: UNKNOWN_KEY },
    // Issues are finalised once parsing is over, so the path already ends with the offending key.
    error: (issue) => {
      const key = String(issue.path?.at(-1) ?? "");
      return options.explainUnknownKey?.(key) ?? unknownKeyMessage(key, known);
    },
  });
  return z.object(shape).catchall(unknownKey) as unknown as z.ZodObject<Shape, z.core.$strict>;
}

/** "unknown key 'x' — did you mean 'y'?" when a known key is near, else the list of known keys. */
export function unknownKeyMessage(key: string, known: readonly string[]): string {
  const suggestion = closestMatch(key, known);
  if (suggestion !== undefined) return `unknown key '${key}' — did you mean '${suggestion}'?`;
  if (known.length === 0) return `unknown key '${key}' — no keys are allowed here`;
  return `unknown key '${key}' — expected one of: ${known.join(", ")}`;
}

/** A count of days: a whole number, zero or more. */
export function days() {
  return wholeNumber("expected a whole number of days (0 or more)");
}

/** A count of things: a whole number, zero or more. */
export function count() {
  return wholeNumber("expected a whole number (0 or more)");
}

function wholeNumber(expected: string) {
  return z.number({ error: expected }).int({ error: expected }).min(0, { error: expected });
}

/** A percentage from 0 to 100 inclusive; fractions allowed. */
export function percent() {
  const expected = "expected a percentage from 0 to 100";
  return z.number({ error: expected }).min(0, { error: expected }).max(100, { error: expected });
}

/**
 * Marks a custom zod issue about a position inside a string value, such as the token of a CEL
 * expression that does not type-check. The issue's params carry `offset`, the 0-based index into the
 * value; the loader turns it into the line and column of that character in the file, and does not
 * repeat the value in the message.
 */
export const VALUE_OFFSET = "tenure.value_offset";

/** The parts of zod's internal schema definitions {@link knownKeysAt} reads. */
interface SchemaDef {
  readonly type: string;
  readonly shape?: Readonly<Record<string, SchemaLike>>;
  readonly innerType?: SchemaLike;
  readonly in?: SchemaLike;
  readonly valueType?: SchemaLike;
  readonly element?: SchemaLike;
  readonly options?: readonly SchemaLike[];
  readonly values?: readonly unknown[];
  readonly getter?: () => SchemaLike;
  readonly catchall?: SchemaLike;
}
interface SchemaLike {
  readonly _zod: { readonly def: SchemaDef };
}

/**
 * The keys the object schema at `path` declares, for suggesting one when a schema written with zod's
 * own `z.strictObject` (a connector's config) reports keys it does not know. `data` is the parsed
 * input, used to pick the member of a discriminated union. Undefined when the path does not lead to
 * an object schema.
 */
export function knownKeysAt(
  schema: z.ZodType,
  data: unknown,
  path: readonly PropertyKey[],
): readonly string[] | undefined {
  let current: SchemaLike | undefined = schema as unknown as SchemaLike;
  let value = data;
  for (let i = 0; ; i++) {
    current = unwrapSchema(current, value);
    if (current === undefined) return undefined;
    const def: SchemaDef = current._zod.def;
    if (i === path.length) return def.type === "object" && def.shape ? Object.keys(def.shape) : undefined;
    const segment = path[i] as PropertyKey;
    if (def.type === "object") current = def.shape?.[String(segment)];
    else if (def.type === "record") current = def.valueType;
    else if (def.type === "array") current = def.element;
    else return undefined;
    value =
      typeof value === "object" && value !== null
        ? (value as Record<PropertyKey, unknown>)[segment]
        : undefined;
  }
}

/**
 * Whether the value at `path` is a secret field: declared with `secret()` (`shared/secret-field.ts`),
 * or inside one (a mapping declared secret as a whole). `data` picks the member of a discriminated
 * union, as in {@link knownKeysAt}. False for a path the schema does not describe.
 */
export function isSecretAt(schema: z.ZodType, data: unknown, path: readonly PropertyKey[]): boolean {
  let current: SchemaLike | undefined = schema as unknown as SchemaLike;
  let value = data;
  let secret = false;
  const onStep = (step: SchemaLike): void => {
    if (isDeclaredSecret(step as unknown as z.ZodType)) secret = true;
  };
  for (let i = 0; ; i++) {
    current = unwrapSchema(current, value, onStep);
    if (current === undefined) return false;
    if (secret || i === path.length) return secret;
    const def: SchemaDef = current._zod.def;
    const segment = path[i] as PropertyKey;
    if (def.type === "object") current = def.shape?.[String(segment)] ?? def.catchall;
    else if (def.type === "record") current = def.valueType;
    else if (def.type === "array") current = def.element;
    else return false;
    value =
      typeof value === "object" && value !== null
        ? (value as Record<PropertyKey, unknown>)[segment]
        : undefined;
  }
}

function unwrapSchema(
  schema: SchemaLike | undefined,
  value: unknown,
  onStep?: (step: SchemaLike) => void,
): SchemaLike | undefined {
  let current = schema;
  for (let depth = 0; current !== undefined && depth < 32; depth++) {
    onStep?.(current);
    const def: SchemaDef = current._zod.def;
    if (def.innerType !== undefined) current = def.innerType;
    else if (def.type === "pipe") current = def.in;
    else if (def.type === "lazy") current = def.getter?.();
    else if (def.type === "union") current = pickOption(def.options ?? [], value);
    else return current;
  }
  return undefined;
}

/** The first union member whose literal keys all match `value`: the member a discriminator selects. */
function pickOption(options: readonly SchemaLike[], value: unknown): SchemaLike | undefined {
  const record = typeof value === "object" && value !== null ? (value as Record<string, unknown>) : {};
  return options.find((option) => {
    const shape = option._zod.def.shape;
    if (shape === undefined) return false;
    return Object.entries(shape).every(([key, field]) => {
      const def = field._zod.def;
      return def.type !== "literal" || (def.values ?? []).includes(record[key]);
    });
  });
}
