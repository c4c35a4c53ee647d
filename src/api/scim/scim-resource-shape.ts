import { checkValue, DEFAULT_MAX_LENGTH } from "../../sources/value-rules.js";
import { findAttribute, findExtension, resolvePath, topLevelAttributes } from "./scim-attribute-paths.js";
import { invalidValue, ScimError } from "./scim-server-errors.js";
import type { AttributeDefinition, ResourceTypeDefinition } from "./scim-server-schemas.js";

export type Json = Record<string, unknown>;

export const isObject = (value: unknown): value is Json =>
  value !== null && typeof value === "object" && !Array.isArray(value);

/** A resource as stored: canonical names, checked types, only what the schemas define. */
export interface ShapedResource {
  resource: Json;
  /** Attributes the schemas do not define, which were left out (names only, for the log). */
  ignored: string[];
}

const BOOLEAN_TEXT = /^(true|false)$/i;

/**
 * Turns a client's resource into the stored form, checked against the resource type's schemas:
 *
 * - names are matched case-insensitively and written as the schema spells them (`"Primary": true` →
 *   `primary`, `"Department"` → `department`);
 * - types are checked, with Entra ID's leniencies: `"True"`/`"False"` for booleans; a bare string for a
 *   complex attribute that has a `value` (a manager id, a member id) is `{ value }`; a single value for a
 *   multi-valued attribute is a list of one;
 * - `null` means unassigned, so it is left out; read-only attributes (`id`, `meta`, `manager.displayName`)
 *   and `password` (write-only: Tenure holds no passwords) are dropped, as RFC 7644 §3.3 says;
 * - attributes no schema defines are dropped and named in `ignored`: Entra ID and the reference
 *   collection send them, and RFC 7644 leaves them to the server;
 * - required attributes (a User's userName, a Group's displayName) must be there;
 * - `schemas` is rewritten from what the resource holds.
 *
 * @throws ScimError 400 invalidSyntax when the body is not an object, invalidValue naming the
 *   attribute (e.g. `emails[1].primary: expected true or false`) when a value has the wrong type.
 */
export function shapeResource(input: unknown, type: ResourceTypeDefinition): ShapedResource {
  if (!isObject(input)) throw new ScimError(400, "the request body must be a JSON object", "invalidSyntax");
  const ignored: string[] = [];
  const out: Json = {};
  for (const [key, value] of Object.entries(input)) {
    if (key.toLowerCase() === "schemas") {
      if (!Array.isArray(value) || value.some((s) => typeof s !== "string")) {
        throw invalidValue("schemas: expected a list of schema URNs");
      }
      continue;
    }
    const extension = findExtension(type, key);
    if (extension !== undefined) {
      if (value === null) continue;
      if (!isObject(value)) throw invalidValue(`${extension.id}: expected an object`);
      const shaped = shapeComplex(value, extension.attributes, `${extension.id}:`, ignored);
      if (Object.keys(shaped).length > 0) out[extension.id] = shaped;
      continue;
    }
    const definition = findAttribute(topLevelAttributes(type), key);
    if (definition === undefined) {
      ignored.push(key);
      continue;
    }
    if (!writable(definition)) continue;
    const shaped = shapeValue(value, definition, definition.name, ignored);
    if (shaped !== undefined) out[definition.name] = shaped;
  }
  for (const definition of type.core.attributes) {
    if (definition.required && (out[definition.name] === undefined || out[definition.name] === "")) {
      throw invalidValue(`${definition.name} is required`);
    }
  }
  const schemas = [type.core.id, ...type.extensions.filter((e) => out[e.id] !== undefined).map((e) => e.id)];
  return { resource: { schemas, ...out }, ignored };
}

/** Read-only attributes are the server's; write-only ones (password) are never kept. */
function writable(definition: AttributeDefinition): boolean {
  return definition.mutability !== "readOnly" && definition.returned !== "never";
}

function shapeComplex(
  value: Json,
  attributes: readonly AttributeDefinition[],
  prefix: string,
  ignored: string[],
): Json {
  const out: Json = {};
  for (const [key, item] of Object.entries(value)) {
    const definition = findAttribute(attributes, key);
    if (definition === undefined) {
      ignored.push(`${prefix}${key}`);
      continue;
    }
    if (!writable(definition)) continue;
    const shaped = shapeValue(item, definition, `${prefix}${definition.name}`, ignored);
    if (shaped !== undefined) out[definition.name] = shaped;
  }
  return out;
}

function shapeValue(
  value: unknown,
  definition: AttributeDefinition,
  path: string,
  ignored: string[],
): unknown {
  if (value === null || value === undefined) return undefined;
  if (!definition.multiValued) return shapeSingle(value, definition, path, ignored);
  const items = (Array.isArray(value) ? value : [value])
    .map((item, i) => shapeSingle(item, definition, `${path}[${i}]`, ignored))
    .filter((item) => item !== undefined);
  return items.length === 0 ? undefined : items;
}

function shapeSingle(
  value: unknown,
  definition: AttributeDefinition,
  path: string,
  ignored: string[],
): unknown {
  if (value === null || value === undefined) return undefined;
  switch (definition.type) {
    case "complex": {
      const subAttributes = definition.subAttributes ?? [];
      const complex =
        typeof value === "string" && findAttribute(subAttributes, "value") !== undefined ? { value } : value;
      if (!isObject(complex)) throw invalidValue(`${path}: expected an object`);
      const shaped = shapeComplex(complex, subAttributes, `${path}.`, ignored);
      return Object.keys(shaped).length === 0 ? undefined : shaped;
    }
    case "boolean":
      if (typeof value === "boolean") return value;
      if (typeof value === "string" && BOOLEAN_TEXT.test(value)) return value.toLowerCase() === "true";
      throw invalidValue(`${path}: expected true or false`);
    case "integer":
      if (Number.isInteger(value)) return value;
      throw invalidValue(`${path}: expected a whole number`);
    case "decimal":
      if (typeof value === "number" && Number.isFinite(value)) return value;
      throw invalidValue(`${path}: expected a number`);
    case "dateTime":
      if (typeof value === "string" && !Number.isNaN(Date.parse(value))) return value;
      throw invalidValue(`${path}: expected an ISO 8601 date-time`);
    default:
      if (typeof value !== "string") throw invalidValue(`${path}: expected a string`);
      checkText(value, definition, path);
      return value;
  }
}

/** The two attributes RFC 7643 §4.1.2 says "MAY contain newlines" (AD's street address is multi-line). */
const MULTI_LINE = /^addresses\[\d+\]\.(?:formatted|streetAddress)$/;

/**
 * The rules every value from a source obeys (sources/value-rules.ts): no control character, anywhere
 * (a JSON client has no reason to send one) but the line breaks of an address, and at most 1024
 * characters — except `binary` values (base64 certificates), long by nature and bounded by the body
 * limit. Neither address attribute feeds Tenure's attributes; they are kept for the client.
 */
function checkText(value: string, definition: AttributeDefinition, path: string): void {
  const limit = definition.type === "binary" ? Number.POSITIVE_INFINITY : DEFAULT_MAX_LENGTH;
  const problem = checkValue(MULTI_LINE.test(path) ? value.replace(/\r\n|[\r\n]/g, " ") : value, limit);
  if (problem !== undefined) throw invalidValue(`${path}: ${problem.message}`);
}

/** Which attributes a response carries (RFC 7644 §3.9): a list to include, or a list to leave out. */
export interface Projection {
  attributes?: readonly string[];
  excludedAttributes?: readonly string[];
}

/**
 * `attributes=` / `excludedAttributes=` as given in a query: comma-separated paths. A value filter in a
 * path (`emails[type eq "work"]`, as the reference collection sends) selects the whole attribute.
 */
export function parseAttributeList(text: string | undefined): string[] | undefined {
  if (text === undefined || text.trim() === "") return undefined;
  return text
    .split(",")
    .map((p) => p.trim().replace(/\[[^\]]*\]/, ""))
    .filter((p) => p !== "");
}

type Picked = { container: string | undefined; name: string; sub: string | undefined };

function picks(type: ResourceTypeDefinition, paths: readonly string[]): Picked[] {
  const out: Picked[] = [];
  for (const path of paths) {
    const resolved = resolvePath(type, path);
    if (resolved === undefined || typeof resolved === "string") continue;
    if (resolved.attribute === undefined) {
      out.push({ container: undefined, name: resolved.extension.id, sub: undefined });
      continue;
    }
    out.push({
      container: resolved.extension?.id,
      name: resolved.attribute.name,
      sub: resolved.subAttribute?.name,
    });
  }
  return out;
}

function pickSub(value: unknown, sub: string): unknown {
  if (Array.isArray(value)) {
    const items = value
      .filter(isObject)
      .filter((v) => v[sub] !== undefined)
      .map((v) => ({ [sub]: v[sub] }));
    return items.length === 0 ? undefined : items;
  }
  return isObject(value) && value[sub] !== undefined ? { [sub]: value[sub] } : undefined;
}

function merge(target: Json, key: string, value: unknown): void {
  const existing = target[key];
  if (isObject(existing) && isObject(value)) target[key] = { ...existing, ...value };
  else if (Array.isArray(existing) && Array.isArray(value) && existing.length === value.length) {
    target[key] = existing.map((item, i) => ({ ...(item as Json), ...(value[i] as Json) }));
  } else target[key] = value;
}

/**
 * The resource with only the attributes asked for, or without those excluded. `id` and `schemas` are
 * always returned (RFC 7643 §7 `returned: always`). Paths naming nothing are passed over.
 */
export function project(resource: Json, type: ResourceTypeDefinition, projection: Projection): Json {
  if (projection.attributes !== undefined) {
    const out: Json = { schemas: resource.schemas, id: resource.id };
    for (const p of picks(type, projection.attributes)) {
      const from = p.container === undefined ? resource : resource[p.container];
      if (!isObject(from) || from[p.name] === undefined) continue;
      const value = p.sub === undefined ? from[p.name] : pickSub(from[p.name], p.sub);
      if (value === undefined) continue;
      if (p.container === undefined) merge(out, p.name, value);
      else {
        const container = isObject(out[p.container]) ? (out[p.container] as Json) : {};
        merge(container, p.name, value);
        out[p.container] = container;
      }
    }
    return out;
  }
  if (projection.excludedAttributes !== undefined) {
    const out = structuredClone(resource);
    for (const p of picks(type, projection.excludedAttributes)) {
      if (p.container === undefined && (p.name === "id" || p.name === "schemas")) continue;
      const from = p.container === undefined ? out : out[p.container];
      if (!isObject(from)) continue;
      if (p.sub === undefined) delete from[p.name];
      else {
        const value = from[p.name];
        for (const item of Array.isArray(value) ? value : [value]) if (isObject(item)) delete item[p.sub];
      }
    }
    return out;
  }
  return resource;
}
