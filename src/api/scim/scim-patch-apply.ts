import {
  InvalidScimPatchOp,
  InvalidScimPatchRequest,
  InvalidScimRemoveValue,
  NoPathInScimPatchOp,
  NoTarget,
  type ScimPatchOperation,
  scimPatch,
} from "scim-patch";
import { findAttribute, resolvePath } from "./scim-attribute-paths.js";
import { isObject, type Json } from "./scim-resource-shape.js";
import { ScimError } from "./scim-server-errors.js";
import {
  type AttributeDefinition,
  PATCH_OP_SCHEMA,
  type ResourceTypeDefinition,
} from "./scim-server-schemas.js";

type Op = "add" | "replace" | "remove";

/** A property of a JSON object by case-insensitive name (`Operations`, `Value`, `Op`: clients vary). */
function member(object: Json, name: string): unknown {
  const lower = name.toLowerCase();
  const key = Object.keys(object).find((k) => k.toLowerCase() === lower);
  return key === undefined ? undefined : object[key];
}

/** Keys of a complex value written as its sub-attributes are spelled; unknown ones dropped. */
function canonicalComplex(value: unknown, definition: AttributeDefinition): unknown {
  const subAttributes = definition.subAttributes ?? [];
  if (typeof value === "string" && findAttribute(subAttributes, "value") !== undefined) return { value };
  if (!isObject(value)) return value;
  const out: Json = {};
  for (const [key, item] of Object.entries(value)) {
    const sub = findAttribute(subAttributes, key);
    if (sub !== undefined) out[sub.name] = item;
  }
  return out;
}

/** A value written for the attribute (or sub-attribute) a path ends at, in canonical form. */
function canonicalValue(value: unknown, definition: AttributeDefinition, whole: boolean): unknown {
  if (definition.type !== "complex") return value;
  if (definition.multiValued && whole) {
    return Array.isArray(value)
      ? value.map((v) => canonicalComplex(v, definition))
      : [canonicalComplex(value, definition)];
  }
  return canonicalComplex(value, definition);
}

function memberValue(item: unknown): string | undefined {
  if (typeof item === "string") return item;
  const v = isObject(item) ? member(item, "value") : undefined;
  return typeof v === "string" ? v : undefined;
}

/**
 * Turns one client operation into operations scim-patch applies to the canonical resource: the path
 * resolved and spelled as the schema does (`name.FamilyName`, `URN:…:Manager` → canonical); a value
 * object without a path split into one operation per attribute it names (Entra ID and Okta send
 * `{"op":"replace","value":{"active":false}}`, and keys such as `name.givenName` or
 * `urn:…:enterprise:2.0:User:department`); `remove` of `members` with a value (Entra ID) turned into
 * `members[value eq "…"]` removals; `null` values into removals.
 */
function expand(
  type: ResourceTypeDefinition,
  resource: Json,
  raw: unknown,
  index: number,
): ScimPatchOperation[] {
  const where = `Operations[${index}]`;
  if (!isObject(raw)) throw new ScimError(400, `${where}: expected an object`, "invalidSyntax");
  const opText = member(raw, "op");
  const op = typeof opText === "string" ? opText.toLowerCase() : "";
  if (op !== "add" && op !== "replace" && op !== "remove") {
    throw new ScimError(400, `${where}.op: expected add, replace or remove`, "invalidSyntax");
  }
  const path = member(raw, "path");
  const value = member(raw, "value");
  if (path === undefined || path === null || path === "") {
    if (op === "remove") throw new ScimError(400, `${where}: remove needs a path`, "noTarget");
    if (!isObject(value)) {
      throw new ScimError(
        400,
        `${where}.value: without a path, expected an object of attributes`,
        "invalidValue",
      );
    }
    const out: ScimPatchOperation[] = [];
    for (const [key, item] of Object.entries(value)) {
      const resolved = resolvePath(type, key);
      if (resolved === undefined || typeof resolved === "string") continue;
      if (resolved.attribute === undefined) {
        // A whole extension object: one operation per attribute in it.
        if (isObject(item)) {
          for (const [sub, v] of Object.entries(item))
            out.push(
              ...pathOperations(type, resource, op, `${resolved.extension.id}:${sub}`, v, where, true),
            );
        }
        continue;
      }
      out.push(...pathOperations(type, resource, op, key, item, where, true));
    }
    return out;
  }
  if (typeof path !== "string") throw new ScimError(400, `${where}.path: expected a string`, "invalidPath");
  return pathOperations(type, resource, op, path, value, where, false);
}

function pathOperations(
  type: ResourceTypeDefinition,
  resource: Json,
  op: Op,
  path: string,
  value: unknown,
  where: string,
  fromValueObject: boolean,
): ScimPatchOperation[] {
  const resolved = resolvePath(type, path);
  if (typeof resolved === "string") throw new ScimError(400, `${where}.path: ${resolved}`, "invalidPath");
  if (resolved === undefined) {
    // Inside a value object, an unknown attribute is passed over as in a POST or PUT body; a path
    // naming one is refused, so a misspelt `actve` cannot quietly leave a leaver active.
    if (fromValueObject) return [];
    throw new ScimError(400, `${where}.path: "${path}" names no attribute of a ${type.name}`, "invalidPath");
  }
  if (resolved.attribute === undefined) {
    if (op === "remove") return [{ op: "remove", path: resolved.extension.id }];
    if (!isObject(value)) throw new ScimError(400, `${where}.value: expected an object`, "invalidValue");
    return Object.entries(value).flatMap(([sub, v]) =>
      pathOperations(type, resource, op, `${resolved.extension.id}:${sub}`, v, where, true),
    );
  }
  const { attribute, subAttribute, filter, canonical } = resolved;
  const leaf = subAttribute ?? attribute;
  if (attribute.returned === "never") return []; // password: accepted, never kept
  if (attribute.mutability === "readOnly" || leaf.mutability === "readOnly") {
    if (fromValueObject) return [];
    throw new ScimError(400, `${where}.path: ${canonical} is read-only`, "mutability");
  }
  const container = resolved.extension === undefined ? resource : resource[resolved.extension.id];
  const current = isObject(container) ? container[attribute.name] : undefined;
  if (op === "remove" || value === null) {
    if (filter !== undefined && !Array.isArray(current)) return []; // nothing there to remove
    if (
      op === "remove" &&
      value !== undefined &&
      value !== null &&
      attribute.multiValued &&
      filter === undefined &&
      subAttribute === undefined
    ) {
      // Entra ID: {"op":"Remove","path":"members","value":[{"value":"<id>"}]} removes those members only.
      const ids = (Array.isArray(value) ? value : [value]).map(memberValue);
      if (ids.some((id) => id === undefined)) {
        throw new ScimError(
          400,
          `${where}.value: expected the values to remove, as {"value": "…"}`,
          "invalidValue",
        );
      }
      return ids.map((id) => ({ op: "remove", path: `${canonical}[value eq ${JSON.stringify(id)}]` }));
    }
    return [{ op: "remove", path: canonical }];
  }
  const whole = filter === undefined && subAttribute === undefined;
  return [{ op, path: canonical, value: canonicalValue(value, leaf, whole) }];
}

function libError(err: unknown, where: string): ScimError {
  const why = err instanceof Error ? err.message : String(err);
  if (err instanceof NoTarget || err instanceof NoPathInScimPatchOp) {
    return new ScimError(400, `${where}: no value matches the path (${why})`, "noTarget");
  }
  if (err instanceof InvalidScimPatchRequest) return new ScimError(400, `${where}: ${why}`, "invalidSyntax");
  if (err instanceof InvalidScimRemoveValue) return new ScimError(400, `${where}: ${why}`, "invalidValue");
  if (err instanceof InvalidScimPatchOp) return new ScimError(400, `${where}: ${why}`, "invalidPath");
  return new ScimError(400, `${where}: ${why}`, "invalidValue");
}

/**
 * Applies a PATCH request (RFC 7644 §3.5.2) to a stored resource with scim-patch, accepting the forms
 * Entra ID and Okta send: `op` in any case ("Replace"), paths in any case, with a schema URN
 * (`urn:…:enterprise:2.0:User:manager`) or a value filter (`members[value eq "…"]`,
 * `emails[type eq "work"].value`), value objects without a path, a bare id as a manager or member, and
 * `"True"`/`"False"` for booleans (the caller re-checks the result with shapeResource, which reads them).
 * Operations apply in order to a copy; the stored resource is not touched.
 *
 * @returns the patched resource, not yet checked against the schemas.
 * @throws ScimError 400: invalidSyntax (not a PatchOp body, an unknown op), invalidPath (a path naming
 *   nothing), mutability (a read-only attribute), noTarget (a filter matching nothing for replace).
 */
export function applyScimPatch(stored: Json, body: unknown, type: ResourceTypeDefinition): Json {
  if (!isObject(body)) throw new ScimError(400, "the request body must be a JSON object", "invalidSyntax");
  const schemas = member(body, "schemas");
  if (
    !Array.isArray(schemas) ||
    !schemas.some((s) => typeof s === "string" && s.toLowerCase() === PATCH_OP_SCHEMA.toLowerCase())
  ) {
    throw new ScimError(400, `schemas: a PATCH body lists "${PATCH_OP_SCHEMA}"`, "invalidSyntax");
  }
  const operations = member(body, "Operations");
  if (!Array.isArray(operations) || operations.length === 0) {
    throw new ScimError(400, "Operations: expected a list of one or more operations", "invalidSyntax");
  }
  let resource = structuredClone(stored);
  operations.forEach((raw, index) => {
    for (const op of expand(type, resource, raw, index)) {
      const extension = op.op === "remove" ? type.extensions.find((e) => e.id === op.path) : undefined;
      if (extension !== undefined) {
        // scim-patch would split the URN at its last colon; a whole extension is removed here.
        delete resource[extension.id];
        continue;
      }
      try {
        resource = scimPatch(resource as never, [op], {
          mutateDocument: true,
          treatMissingAsAdd: true,
        }) as Json;
      } catch (err) {
        throw libError(err, `Operations[${index}]`);
      }
    }
  });
  return resource;
}

/**
 * Whether a PATCH sets `active` to false — the way identity providers deprovision a User (Entra ID
 * sends `{"op": "Replace", "path": "active", "value": "False"}`, Okta `{"op": "replace", "value":
 * {"active": false}}`). Read before the patch is applied, to let the write through the push gate
 * first; a body that is not a valid patch says no here and is refused when applied.
 */
export function patchDeactivates(body: unknown): boolean {
  const operations = isObject(body) ? member(body, "Operations") : undefined;
  if (!Array.isArray(operations)) return false;
  const isFalse = (v: unknown) => v === false || (typeof v === "string" && v.toLowerCase() === "false");
  return operations.some((op) => {
    if (!isObject(op)) return false;
    const kind = member(op, "op");
    if (typeof kind !== "string" || !["add", "replace"].includes(kind.toLowerCase())) return false;
    const path = member(op, "path");
    const value = member(op, "value");
    if (typeof path === "string") return path.toLowerCase() === "active" && isFalse(value);
    return path === undefined && isObject(value) && isFalse(member(value, "active"));
  });
}
