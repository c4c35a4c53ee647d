import type { Schemas } from "../api/client.js";

type Lineage = Schemas["LineageInput"];

/** One reason in words: "role engineer (staff ← engineer), rule department == 'Engineering' at tenure.yaml:40". */
export function describeLineage(l: Lineage): string {
  const v = l as Record<string, unknown>;
  switch (l.kind) {
    case "role": {
      const chain = Array.isArray(v.chain) && v.chain.length > 1 ? ` (through ${v.chain.join(" → ")})` : "";
      const rule = v.rule as { source?: string; location?: { file?: string; line?: number } } | null;
      const where = rule?.location?.line !== undefined ? ` at tenure.yaml:${rule.location.line}` : "";
      return `role ${String(v.role)}${chain}${rule?.source ? `, rule ${rule.source}${where}` : ", no rule (included)"}`;
    }
    case "assignment":
      return `assignment ${String(v.target)}${v.validUntil ? ` until ${String(v.validUntil)}` : ""}`;
    case "lifecycle":
      return `lifecycle policy ${String(v.policy)}: ${String(v.note)}`;
    case "mover-grace":
      return `kept after a move until ${String(v.until)}, first granted by ${describeLineage(v.from as Lineage)}`;
    default:
      return l.kind;
  }
}

/** Why something exists, as a list; "no lineage" said plainly when there is none. */
export function LineageList({ lineage, fallback }: { lineage: readonly Lineage[]; fallback?: string }) {
  if (lineage.length === 0) return <span className="muted">{fallback ?? "no lineage recorded"}</span>;
  return (
    <ul className="lineage">
      {lineage.map((l) => (
        <li key={describeLineage(l)}>{describeLineage(l)}</li>
      ))}
    </ul>
  );
}
