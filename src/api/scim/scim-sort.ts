import { resolvePath } from "./scim-attribute-paths.js";
import { isObject, type Json } from "./scim-resource-shape.js";
import { ScimError } from "./scim-server-errors.js";
import type { ResourceTypeDefinition } from "./scim-server-schemas.js";

/** Sorts by an attribute path: first value of multi-valued attributes, case-insensitive text, absent last. */
export function sortRecords(
  type: ResourceTypeDefinition,
  list: Json[],
  sortBy: string,
  descending: boolean,
): Json[] {
  const resolved = resolvePath(type, sortBy);
  if (resolved === undefined || typeof resolved === "string" || resolved.attribute === undefined) {
    throw new ScimError(400, `sortBy: "${sortBy}" names no attribute of a ${type.name}`, "invalidValue");
  }
  const keys = [
    ...(resolved.extension ? [resolved.extension.id] : []),
    resolved.attribute.name,
    ...(resolved.subAttribute
      ? [resolved.subAttribute.name]
      : resolved.attribute.type === "complex"
        ? ["value"]
        : []),
  ];
  const sortValue = (r: Json): string | number | undefined => {
    let v: unknown = r;
    for (const k of keys) {
      if (Array.isArray(v)) v = v[0];
      v = isObject(v) ? v[k] : undefined;
    }
    if (Array.isArray(v)) v = v[0];
    if (typeof v === "number") return v;
    if (typeof v === "boolean") return v ? 1 : 0;
    return typeof v === "string" ? v.toLowerCase() : undefined;
  };
  const sign = descending ? -1 : 1;
  return [...list].sort((a, b) => {
    const x = sortValue(a);
    const y = sortValue(b);
    if (x === undefined || y === undefined) return x === y ? 0 : x === undefined ? 1 : -1;
    return x < y ? -sign : x > y ? sign : 0;
  });
}
