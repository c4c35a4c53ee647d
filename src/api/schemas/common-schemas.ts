import { z } from "zod";
import { PLAN_HASH_PATTERN } from "../../engine/mass-change.js";
import { BadRequestError } from "../api-errors.js";

/**
 * Pieces every resource's schemas share: pagination, cursors, instants. Cursors are opaque to
 * callers (base64url of a small JSON object): pass back `nextCursor` as `cursor` for the next page.
 */

export const pageQuery = {
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(500)
    .default(100)
    .describe("items per page (1 to 500, default 100)"),
  cursor: z.string().min(1).max(512).optional().describe("the nextCursor of the previous page"),
};

/** A page of `item`: the items and the cursor of the next page (null on the last). */
export function pageOf<T extends z.ZodType>(item: T) {
  return z.object({ items: z.array(item), nextCursor: z.string().nullable() });
}

export function encodeCursor(value: Record<string, unknown>): string {
  return Buffer.from(JSON.stringify(value), "utf8").toString("base64url");
}

/** @throws BadRequestError at `query.cursor` when the cursor is not one this route handed out. */
export function decodeCursor<T extends z.ZodType>(
  cursor: string | undefined,
  schema: T,
): z.output<T> | undefined {
  if (cursor === undefined) return undefined;
  try {
    const parsed = schema.safeParse(JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")));
    if (parsed.success) return parsed.data;
  } catch {
    // Falls through to the error below: not base64url JSON.
  }
  throw new BadRequestError("query.cursor", "is not a cursor this list handed out");
}

/** Takes one item more than the page to learn whether another page follows. */
export function toPage<T, C extends Record<string, unknown>>(
  rows: readonly T[],
  limit: number,
  cursorOf: (last: T) => C,
): { items: T[]; nextCursor: string | null } {
  const items = rows.slice(0, limit);
  const last = items.at(-1);
  return {
    items,
    nextCursor: rows.length > limit && last !== undefined ? encodeCursor(cursorOf(last)) : null,
  };
}

/** An ISO-8601 date or date-time in a query, normalised to a UTC instant. */
export const instantQuery = z
  .string()
  .refine((v) => /^\d{4}-\d{2}-\d{2}/.test(v) && !Number.isNaN(Date.parse(v)), {
    error: "expected an ISO-8601 date or date-time",
  })
  .transform((v) => new Date(v).toISOString());

/**
 * An object whose main keys are declared (and documented) while the rest pass through as the engine
 * returns them: for deep engine results (lineage, explanations) whose every variant is not worth a
 * schema. Typed without an index signature, so engine interfaces are assignable to it.
 */
export function openObject<const Shape extends z.ZodRawShape>(
  shape: Shape,
): z.ZodObject<Shape, z.core.$strip> {
  return z.looseObject(shape) as unknown as z.ZodObject<Shape, z.core.$strip>;
}

/** Why something is desired: a role (with its chain and rule), an assignment, a lifecycle policy. */
export const lineageSchema = openObject({
  kind: z.enum(["role", "assignment", "lifecycle", "mover-grace"]),
}).meta({ id: "Lineage" });

/** A mass-change plan hash: 64 lowercase hex digits (see engine/mass-change.ts planHashOf). */
export const planHashSchema = z.string().regex(PLAN_HASH_PATTERN, "a plan hash: 64 lowercase hex digits");
