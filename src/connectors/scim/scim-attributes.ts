import { ENTERPRISE_USER_SCHEMA, USER_SCHEMA } from "../../shared/scim-urns.js";
/**
 * SCIM attribute paths (RFC 7644 §3.5.2 `path`, the subset an attribute mapping needs): reading a
 * value out of a resource and writing one into it. Attribute names are case-insensitive in SCIM
 * (RFC 7643 §2.1), so every lookup here is.
 */

/** The core User schema URN. */
export const CORE_USER_SCHEMA = USER_SCHEMA;
/** The Enterprise User extension (RFC 7643 §4.3). */
export { ENTERPRISE_USER_SCHEMA };

/**
 * One parsed path: `[<schema URN>:]attribute[[filterAttribute eq "filterValue"]][.subAttribute]`, e.g.
 * `displayName`, `name.givenName`, `emails[type eq "work"].value`,
 * `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department`.
 */
export interface ScimPath {
  /** As written in the configuration. */
  text: string;
  /** The extension schema URN, or undefined for a core attribute. */
  schema?: string;
  attribute: string;
  /** For a multi-valued attribute: which element (the one whose `attribute` equals `value`). */
  filter?: { attribute: string; value: string };
  subAttribute?: string;
}

const NAME = "[A-Za-z][A-Za-z0-9_-]*";
const REST = new RegExp(`^(${NAME})(?:\\[(${NAME}) eq "([^"\\\\]*)"\\])?(?:\\.(${NAME}))?$`);
const URN = /^urn:[A-Za-z0-9][A-Za-z0-9-]{0,31}:[A-Za-z0-9()+,\-.:=@;$_!*'%/?#]+$/;

/** Attributes a mapping may never write: the service owns them, or the connector writes them itself. */
const RESERVED = ["id", "meta", "schemas", "groups", "active", "password"];

/**
 * Parses a path of an attribute mapping.
 * @returns the path, or a message saying what is wrong with it (never the value itself).
 */
export function parseScimPath(text: string): ScimPath | string {
  let schema: string | undefined;
  let rest = text;
  if (/^urn:/i.test(text)) {
    const colon = text.lastIndexOf(":");
    schema = text.slice(0, colon);
    rest = text.slice(colon + 1);
    if (!URN.test(schema)) return "is not a valid schema URN followed by :attribute";
  }
  const match = REST.exec(rest);
  if (match === null) {
    return 'must be attribute, attribute.subAttribute or attribute[type eq "value"].subAttribute, optionally after a schema URN';
  }
  const [, attribute, filterAttribute, filterValue, subAttribute] = match;
  if (filterAttribute !== undefined && subAttribute === undefined) {
    return 'a filtered path needs a sub-attribute, e.g. emails[type eq "work"].value';
  }
  if (schema === undefined && RESERVED.includes(attribute!.toLowerCase())) {
    return `${attribute} is managed by the connector or the service and cannot be mapped`;
  }
  const path: ScimPath = { text, attribute: attribute! };
  if (schema !== undefined) path.schema = schema;
  if (filterAttribute !== undefined) path.filter = { attribute: filterAttribute, value: filterValue! };
  if (subAttribute !== undefined) path.subAttribute = subAttribute;
  return path;
}

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json =>
  value !== null && typeof value === "object" && !Array.isArray(value);

/** The key under which `object` holds `name`, whatever its case, or `name` when it holds none. */
function keyOf(object: Json, name: string): string {
  const lower = name.toLowerCase();
  return Object.keys(object).find((key) => key.toLowerCase() === lower) ?? name;
}

/** A property of a resource, looked up case-insensitively. */
export function property(object: unknown, name: string): unknown {
  return isObject(object) ? object[keyOf(object, name)] : undefined;
}

function elementMatches(element: unknown, filter: NonNullable<ScimPath["filter"]>): boolean {
  const value = property(element, filter.attribute);
  return typeof value === "string" && value.toLowerCase() === filter.value.toLowerCase();
}

/** The value at `path` in a resource as text, or null when absent (objects and lists are not values). */
export function readScimPath(resource: unknown, path: ScimPath): string | null {
  const container = path.schema === undefined ? resource : property(resource, path.schema);
  let value = property(container, path.attribute);
  if (path.filter !== undefined) {
    value = Array.isArray(value) ? value.find((element) => elementMatches(element, path.filter!)) : undefined;
  }
  if (path.subAttribute !== undefined) value = property(value, path.subAttribute);
  if (typeof value === "string") return value === "" ? null : value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return null;
}

/** Where a path's top-level attribute lives: the PATCH path that replaces or removes it as a whole. */
export function topLevelPath(path: ScimPath): string {
  return path.schema === undefined ? path.attribute : `${path.schema}:${path.attribute}`;
}

/** The top-level value a path lives in, from a resource (undefined when absent). */
export function readTopLevel(resource: Json, path: ScimPath): unknown {
  const container = path.schema === undefined ? resource : property(resource, path.schema);
  return property(container, path.attribute);
}

const isEmpty = (value: unknown): boolean =>
  value === undefined ||
  value === null ||
  value === "" ||
  (Array.isArray(value) && value.length === 0) ||
  (isObject(value) && Object.keys(value).length === 0);

/**
 * Sets (or, with null, removes) the value at `path` in `resource`, in place. A multi-valued element
 * that loses its last sub-attribute is removed; an emptied complex or multi-valued attribute is
 * deleted, so the caller can send `remove` for it.
 */
export function writeScimPath(resource: Json, path: ScimPath, value: string | null): void {
  let container: Json = resource;
  if (path.schema !== undefined) {
    const key = keyOf(resource, path.schema);
    if (!isObject(resource[key])) resource[key] = {};
    container = resource[key] as Json;
  }
  const key = keyOf(container, path.attribute);
  if (path.filter === undefined && path.subAttribute === undefined) {
    if (value === null) delete container[key];
    else container[key] = value;
  } else if (path.filter === undefined) {
    const complex: Json = isObject(container[key]) ? { ...(container[key] as Json) } : {};
    const sub = keyOf(complex, path.subAttribute!);
    if (value === null) delete complex[sub];
    else complex[sub] = value;
    container[key] = complex;
  } else {
    const list = Array.isArray(container[key]) ? [...(container[key] as unknown[])] : [];
    const index = list.findIndex((element) => elementMatches(element, path.filter!));
    const element: Json = index >= 0 && isObject(list[index]) ? { ...(list[index] as Json) } : {};
    if (index < 0) element[path.filter.attribute] = path.filter.value;
    const sub = keyOf(element, path.subAttribute!);
    if (value === null) delete element[sub];
    else element[sub] = value;
    const keeps = Object.keys(element).some((k) => k.toLowerCase() !== path.filter!.attribute.toLowerCase());
    if (index >= 0) {
      if (keeps) list[index] = element;
      else list.splice(index, 1);
    } else if (keeps) {
      list.push(element);
    }
    container[key] = list;
  }
  if (isEmpty(container[key])) delete container[key];
  if (path.schema !== undefined && isEmpty(container)) delete resource[keyOf(resource, path.schema)];
}

/** Whether a value is absent for SCIM purposes (absent, null, "", [] or {}). */
export function isEmptyScimValue(value: unknown): boolean {
  return isEmpty(value);
}
