import { type Filter, parse } from "scim2-parse-filter";
import type { ScimLookupColumn } from "../../store/scim-resource-repository.js";
import { findAttribute, resolvePath } from "./scim-attribute-paths.js";
import { isObject, type Json } from "./scim-resource-shape.js";
import { ScimError } from "./scim-server-errors.js";
import type { AttributeDefinition, ResourceTypeDefinition } from "./scim-server-schemas.js";

const COMPARISONS = new Set(["eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"]);
const LITERALS = new Set(["true", "false", "null"]);
const NUMBER = /^-?\d+(\.\d+)?([eE][+-]?\d+)?$/;

/**
 * Quotes the comparison values a client left bare (`userName sw O`, `meta.created gt 2015-10-10T14:38:21Z`),
 * which RFC 7644's grammar does not allow but Microsoft's reference collection sends: a bare word that is
 * not `true`, `false`, `null` or a number can only mean a string. `True`/`False` become JSON booleans.
 * Quoted strings are copied untouched.
 */
export function quoteBareValues(text: string): string {
  let out = "";
  // The last two words before the current one, to tell `attr op VALUE` apart.
  let previous: string | undefined;
  let beforePrevious: string | undefined;
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === "\\" ? 2 : 1;
      out += text.slice(i, j + 1);
      i = j + 1;
      beforePrevious = previous;
      previous = '"';
      continue;
    }
    if (/\s/.test(c) || "()[]".includes(c)) {
      out += c;
      i++;
      if (!/\s/.test(c)) {
        beforePrevious = previous;
        previous = c;
      }
      continue;
    }
    let j = i;
    while (j < text.length && !/\s/.test(text[j]!) && !'()[]"'.includes(text[j]!)) j++;
    const word = text.slice(i, j);
    const isValue =
      previous !== undefined &&
      COMPARISONS.has(previous.toLowerCase()) &&
      beforePrevious !== undefined &&
      !'()[]"'.includes(beforePrevious);
    if (isValue && LITERALS.has(word.toLowerCase())) out += word.toLowerCase();
    else if (isValue && !NUMBER.test(word)) out += JSON.stringify(word);
    else out += word;
    beforePrevious = previous;
    previous = word;
    i = j;
  }
  return out;
}

/**
 * Parses a `filter=` with scim2-parse-filter (after {@link quoteBareValues}).
 * @throws ScimError 400 invalidFilter saying why it does not parse.
 */
export function parseScimFilter(text: string): Filter {
  try {
    return parse(quoteBareValues(text));
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw new ScimError(400, `the filter ${JSON.stringify(text)} does not parse: ${why}`, "invalidFilter");
  }
}

type Test = (resource: Json) => boolean;

/** The leaf values at a path, lists flattened (`emails.value` → every address). */
function collect(value: unknown, keys: readonly string[]): unknown[] {
  if (keys.length === 0) return Array.isArray(value) ? value : [value];
  if (Array.isArray(value)) return value.flatMap((v) => collect(v, keys));
  if (!isObject(value)) return [];
  return collect(value[keys[0]!], keys.slice(1));
}

function present(v: unknown): boolean {
  if (v === undefined || v === null || v === "") return false;
  if (Array.isArray(v)) return v.length > 0;
  if (isObject(v)) return Object.keys(v).length > 0;
  return true;
}

function compare(
  op: string,
  definition: AttributeDefinition,
  raw: unknown,
  target: unknown,
  where: string,
): boolean {
  if (raw === undefined || raw === null) return false;
  switch (definition.type) {
    case "boolean": {
      if (op !== "eq")
        throw new ScimError(400, `${where}: ${op} is not defined for a boolean`, "invalidFilter");
      const wanted = typeof target === "string" ? target.toLowerCase() === "true" : target;
      return raw === wanted;
    }
    case "dateTime": {
      const a = Date.parse(String(raw));
      const b = Date.parse(String(target));
      if (Number.isNaN(b))
        throw new ScimError(400, `${where}: ${JSON.stringify(target)} is not a date-time`, "invalidFilter");
      return order(op, a, b, where);
    }
    case "integer":
    case "decimal": {
      const b = Number(target);
      if (Number.isNaN(b))
        throw new ScimError(400, `${where}: ${JSON.stringify(target)} is not a number`, "invalidFilter");
      return order(op, Number(raw), b, where);
    }
    case "complex":
      throw new ScimError(
        400,
        `${where}: a complex attribute is compared through a sub-attribute`,
        "invalidFilter",
      );
    default: {
      const fold = (s: string) => (definition.caseExact ? s : s.toLowerCase());
      const a = fold(String(raw));
      const b = fold(String(target));
      if (op === "co") return a.includes(b);
      if (op === "sw") return a.startsWith(b);
      if (op === "ew") return a.endsWith(b);
      return order(op, a, b, where);
    }
  }
}

function order<T extends string | number>(op: string, a: T, b: T, where: string): boolean {
  switch (op) {
    case "eq":
      return a === b;
    case "gt":
      return a > b;
    case "ge":
      return a >= b;
    case "lt":
      return a < b;
    case "le":
      return a <= b;
    default:
      throw new ScimError(400, `${where}: ${op} is not defined for this attribute type`, "invalidFilter");
  }
}

/** What an attribute path names, as keys to walk and the definition of the value found there. */
interface Target {
  keys: string[];
  definition: AttributeDefinition;
}

function target(
  type: ResourceTypeDefinition,
  scope: readonly AttributeDefinition[] | undefined,
  path: string,
  throughValue = true,
): Target | undefined {
  if (scope !== undefined) {
    // Inside a value filter (`emails[type eq "work"]`): sub-attributes of the element.
    const definition = findAttribute(scope, path);
    return definition === undefined ? undefined : { keys: [definition.name], definition };
  }
  const resolved = resolvePath(type, path);
  if (typeof resolved === "string") throw new ScimError(400, resolved, "invalidFilter");
  if (resolved?.attribute === undefined) return undefined;
  const keys = [...(resolved.extension ? [resolved.extension.id] : []), resolved.attribute.name];
  let definition = resolved.attribute;
  if (resolved.subAttribute !== undefined) {
    keys.push(resolved.subAttribute.name);
    definition = resolved.subAttribute;
  } else if (definition.type === "complex" && throughValue) {
    // `emails co "example.com"` compares the attribute's `value` (RFC 7644 §3.4.2.2).
    const value = findAttribute(definition.subAttributes ?? [], "value");
    if (value !== undefined) {
      keys.push(value.name);
      definition = value;
    }
  }
  return { keys, definition };
}

function compileNode(type: ResourceTypeDefinition, f: Filter, scope?: readonly AttributeDefinition[]): Test {
  switch (f.op) {
    case "and": {
      const parts = (f as { filters: Filter[] }).filters.map((p) => compileNode(type, p, scope));
      return (r) => parts.every((t) => t(r));
    }
    case "or": {
      const parts = (f as { filters: Filter[] }).filters.map((p) => compileNode(type, p, scope));
      return (r) => parts.some((t) => t(r));
    }
    case "not": {
      const inner = compileNode(type, (f as { filter: Filter }).filter, scope);
      return (r) => !inner(r);
    }
    case "[]": {
      const { attrPath, valFilter } = f as { attrPath: string; valFilter: Filter };
      const t = target(type, scope, attrPath, false);
      if (t === undefined) return () => false;
      const inner = compileNode(type, valFilter, t.definition.subAttributes ?? []);
      return (r) => collect(r, t.keys).some((element) => isObject(element) && inner(element));
    }
    case "pr": {
      const t = target(type, scope, (f as { attrPath: string }).attrPath);
      if (t === undefined) return () => false;
      return (r) => collect(r, t.keys).some(present);
    }
    default: {
      const { op, attrPath, compValue } = f as { op: string; attrPath: string; compValue: unknown };
      const t = target(type, scope, attrPath);
      const where = `filter on ${attrPath}`;
      if (t === undefined) return () => op === "ne";
      if (op === "ne")
        return (r) => !collect(r, t.keys).some((v) => compare("eq", t.definition, v, compValue, where));
      // Reject an operator the type cannot have now, not only when a resource happens to hold a value.
      compare(op, t.definition, t.definition.type === "boolean" ? true : "", compValue, where);
      return (r) => collect(r, t.keys).some((v) => compare(op, t.definition, v, compValue, where));
    }
  }
}

/**
 * A predicate over resources (as served, with `meta`) for a parsed filter, with SCIM's semantics:
 * attribute names case-insensitive; strings compared case-insensitively unless the attribute is
 * `caseExact` (id, externalId); dateTime attributes as instants; a multi-valued attribute matches when
 * any value does; a complex attribute compared through its `value`; an attribute the schemas do not
 * define matches nothing (and `ne` everything).
 * @throws ScimError 400 invalidFilter for an operator the attribute's type does not have (`active gt true`).
 */
export function compileFilter(type: ResourceTypeDefinition, filter: Filter): Test {
  return compileNode(type, filter);
}

const LOOKUPS: Record<string, ScimLookupColumn> = { id: "id", externalid: "externalId" };

/**
 * The indexed lookup that answers a filter, or undefined when it needs a scan: `id eq`, `externalId eq`,
 * `userName eq` (Users), `displayName eq` (Groups), alone or as one term of an `and` — the lookups
 * Entra ID and Okta make before every create. The whole filter is still applied to what it finds.
 */
export function indexedLookup(
  type: ResourceTypeDefinition,
  filter: Filter,
): { column: ScimLookupColumn; value: string } | undefined {
  if (filter.op === "and") {
    for (const part of (filter as { filters: Filter[] }).filters) {
      const found = indexedLookup(type, part);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  if (filter.op !== "eq") return undefined;
  const { attrPath, compValue } = filter as { attrPath: string; compValue: unknown };
  if (typeof compValue !== "string") return undefined;
  const resolved = resolvePath(type, attrPath);
  if (resolved === undefined || typeof resolved === "string" || resolved.attribute === undefined)
    return undefined;
  if (resolved.extension !== undefined || resolved.subAttribute !== undefined) return undefined;
  const name = resolved.attribute.name;
  const column =
    LOOKUPS[name.toLowerCase()] ??
    (name === (type.name === "User" ? "userName" : "displayName") ? "name" : undefined);
  return column === undefined ? undefined : { column, value: compValue };
}
