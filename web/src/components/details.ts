/** An audit event's details in one line: `key: value` pairs, nested values shortened. */
export function summarise(details: Record<string, unknown>): string {
  return Object.entries(details)
    .map(
      ([k, v]) =>
        `${k}: ${typeof v === "object" && v !== null ? JSON.stringify(v).slice(0, 120) : String(v)}`,
    )
    .join(" · ");
}
