import type { DerivedFrom, Lineage, SourceLocation } from "./access-types.js";

/** `tenure.yaml:42`: the file's base name and line, short enough for one line of CLI output. */
export function formatLocation(location: SourceLocation): string {
  const slash = Math.max(location.file.lastIndexOf("/"), location.file.lastIndexOf("\\"));
  return `${location.file.slice(slash + 1)}:${location.line}`;
}

/**
 * One lineage as a phrase: "role engineer → employee", "assignment a1 until 2026-05-01",
 * the lifecycle note itself, or "mover grace until … (role sales)".
 */
export function describeLineage(lineage: Lineage): string {
  switch (lineage.kind) {
    case "role":
      return `role ${lineage.chain.length > 1 ? lineage.chain.join(" → ") : lineage.role}${derivedNote(lineage.derived)}`;
    case "assignment":
      return `assignment ${lineage.assignmentId}${lineage.requestId ? ` (request ${lineage.requestId})` : ""}${lineage.validUntil === null ? "" : ` until ${lineage.validUntil}`}${derivedNote(lineage.derived)}`;
    case "lifecycle":
      return lineage.note;
    case "mover-grace":
      return `mover grace until ${lineage.until} (${describeLineage(lineage.from)})`;
  }
}

/** ` (department "Sales", by template "dept-{department|slug}" at tenure.yaml:12)`, or "" when not derived. */
export function derivedNote(from: DerivedFrom | undefined): string {
  if (from === undefined) return "";
  const values = Object.entries(from.attributes)
    .map(([name, value]) => `${name} ${value === null ? "empty" : JSON.stringify(value)}`)
    .join(", ");
  return ` (${values}, by ${from.rule} at ${formatLocation(from.location)})`;
}

/** The first grant lineage (role, assignment, mover grace) and how many more there are; "" if none. */
export function describeGrant(lineages: readonly Lineage[]): string {
  let first: Lineage | undefined;
  let count = 0;
  for (const lineage of lineages) {
    if (lineage.kind === "lifecycle") continue;
    first ??= lineage;
    count++;
  }
  if (first === undefined) return "";
  return count > 1 ? `${describeLineage(first)} and ${count - 1} more` : describeLineage(first);
}

/** The lifecycle note among `lineages`, if any. */
export function lifecycleNote(lineages: readonly Lineage[]): string | null {
  for (const lineage of lineages) if (lineage.kind === "lifecycle") return lineage.note;
  return null;
}
