import type { AttributeName } from "../policy/config-types.js";

/** Where a row sits, as people who fix HR files look for it: `Row 4 (line 5), key "E1"`. */
export function describeRow(row: number, line: number | undefined, key: string | null): string {
  const at = line === undefined ? `Row ${row}` : `Row ${row} (line ${line})`;
  return key === null ? at : `${at}, key "${key}"`;
}

/**
 * How an attribute is named in messages: the attribute, plus the source's own column name when the
 * mapping renamed it, because HR staff know the column and engineers know the attribute.
 */
export function describeField(
  attribute: AttributeName,
  columns: Readonly<Partial<Record<AttributeName, string>>> | undefined,
): string {
  const column = columns?.[attribute];
  return column === undefined || column === attribute ? attribute : `${attribute} (column "${column}")`;
}

/** Shortens a list for a message so one pathological file cannot produce megabyte-long findings. */
export function listForMessage(items: readonly string[], max = 5): string {
  if (items.length <= max) return items.join(", ");
  return `${items.slice(0, max).join(", ")} and ${items.length - max} more`;
}
