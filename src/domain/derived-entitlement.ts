import type { DerivedEntitlement, DerivedFrom, Lineage } from "./access-types.js";
import type { WorkerAttributes } from "./identity-types.js";

/** The key a derived entitlement gives for these attributes, and why; null when it gives none. */
export interface DerivedKey {
  key: string;
  from: DerivedFrom;
}

/**
 * The entitlement a role's derived grant names for one identity. Pure.
 * - template: rendered from the attributes; none when an attribute it reads is empty or the result is
 *   empty (a person without a department gets no `dept-` group, never a group named `dept-`).
 * - map: the entry for the attribute's value (exact text as HR sends it), else `default`, else none.
 */
export function deriveEntitlement(
  derived: DerivedEntitlement,
  attributes: WorkerAttributes,
): DerivedKey | null {
  if (derived.kind === "template") {
    const values: Record<string, string | null> = {};
    for (const name of derived.template.reads) values[name] = attributes[name];
    if (Object.values(values).some((v) => v === null || v.trim() === "")) return null;
    const key = derived.template.render(attributes).trim();
    if (key === "") return null;
    return {
      key,
      from: { attributes: values, rule: `template "${derived.source}"`, location: derived.location },
    };
  }
  const value = attributes[derived.attribute];
  const listed = value !== null && Object.hasOwn(derived.map, value) ? derived.map[value] : undefined;
  const key = listed ?? derived.default;
  if (key === null || key === undefined) return null;
  return {
    key,
    from: {
      attributes: { [derived.attribute]: value },
      rule: `map on ${derived.attribute}${listed === undefined ? " (default)" : ""}`,
      location: derived.location,
    },
  };
}

/** `lineages` with `from` attached to each role or assignment lineage (the others as they are). */
export function withDerived(lineages: readonly Lineage[], from: DerivedFrom): Lineage[] {
  return lineages.map((l) => (l.kind === "role" || l.kind === "assignment" ? { ...l, derived: from } : l));
}

/** Whether a derived grant can name `key`: a map's entry or default; a template, a key its literal text allows. */
export function mayDerive(derived: DerivedEntitlement, key: string): boolean {
  if (derived.kind === "map") return derived.default === key || Object.values(derived.map).includes(key);
  const open = derived.source.indexOf("{");
  const prefix = open < 0 ? derived.source : derived.source.slice(0, open);
  return key.startsWith(prefix);
}

/** The grant as written, for explanations: `dept-{department|slug}`, `{department → map}`. */
export function describeDerived(derived: DerivedEntitlement): string {
  return derived.kind === "template" ? derived.source : `{${derived.attribute} → map}`;
}
