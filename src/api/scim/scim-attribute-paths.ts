import {
  type AttributeDefinition,
  COMMON_ATTRIBUTES,
  type ResourceTypeDefinition,
  type SchemaDefinition,
} from "./scim-server-schemas.js";

/**
 * An attribute path of RFC 7644 §3.10 resolved against a resource type's schemas:
 * `[URN:]attribute[[filter]][.subAttribute]`. SCIM names are case-insensitive (RFC 7643 §2.1), so
 * `name.FamilyName` and `URN:…:enterprise:2.0:User:Manager` resolve to their definitions, and
 * `canonical` spells the path the way the schema does, which is how stored resources are keyed.
 */
export interface ResolvedPath {
  /** The extension schema the attribute belongs to; undefined for core and common attributes. */
  extension: SchemaDefinition | undefined;
  attribute: AttributeDefinition;
  /** The value filter between brackets, as written (`type eq "work"`). */
  filter: string | undefined;
  subAttribute: AttributeDefinition | undefined;
  canonical: string;
}

/** A whole extension named by its URN alone (`attributes=urn:…:enterprise:2.0:User`). */
export interface ResolvedExtension {
  extension: SchemaDefinition;
  attribute: undefined;
}

const maps = new WeakMap<readonly AttributeDefinition[], Map<string, AttributeDefinition>>();

/** The definition among `attributes` named `name`, whatever its case. */
export function findAttribute(
  attributes: readonly AttributeDefinition[],
  name: string,
): AttributeDefinition | undefined {
  let map = maps.get(attributes);
  if (map === undefined) {
    map = new Map(attributes.map((a) => [a.name.toLowerCase(), a]));
    maps.set(attributes, map);
  }
  const lower = name.toLowerCase();
  // `displayName` for a member's or an email's `display`: the reference collection and some clients
  // write it so.
  return map.get(lower) ?? (lower === "displayname" ? map.get("display") : undefined);
}

const coreAttributes = new WeakMap<ResourceTypeDefinition, readonly AttributeDefinition[]>();

/** `id`, `externalId`, `meta` and the core schema's attributes of a resource type. */
export function topLevelAttributes(type: ResourceTypeDefinition): readonly AttributeDefinition[] {
  let list = coreAttributes.get(type);
  if (list === undefined) {
    list = [...COMMON_ATTRIBUTES, ...type.core.attributes];
    coreAttributes.set(type, list);
  }
  return list;
}

/** The extension of `type` whose URN is `urn`, whatever its case. */
export function findExtension(type: ResourceTypeDefinition, urn: string): SchemaDefinition | undefined {
  const lower = urn.toLowerCase();
  return type.extensions.find((e) => e.id.toLowerCase() === lower);
}

const PATH = /^([A-Za-z$][\w$-]*)(?:\[(.*)\])?(?:\.([A-Za-z$][\w$-]*))?$/s;

/**
 * Resolves a path against `type`. Returns undefined when it names nothing `type` has, and a message
 * (a string) when it is not a path at all.
 */
export function resolvePath(
  type: ResourceTypeDefinition,
  path: string,
): ResolvedPath | ResolvedExtension | string | undefined {
  let rest = path.trim();
  let extension: SchemaDefinition | undefined;
  if (/^urn:/i.test(rest)) {
    const lower = rest.toLowerCase();
    const schemas = [type.core, ...type.extensions];
    // The longest URN that prefixes the path: an attribute name may follow it after a colon.
    const owner = schemas
      .filter((s) => lower === s.id.toLowerCase() || lower.startsWith(`${s.id.toLowerCase()}:`))
      .sort((a, b) => b.id.length - a.id.length)[0];
    if (owner === undefined) return undefined;
    if (rest.length === owner.id.length) {
      return owner === type.core ? undefined : { extension: owner, attribute: undefined };
    }
    rest = rest.slice(owner.id.length + 1);
    extension = owner === type.core ? undefined : owner;
  }
  const match = PATH.exec(rest);
  if (match === null) return `"${path}" is not an attribute path`;
  const [, name, filter, sub] = match;
  const attribute = findAttribute(extension?.attributes ?? topLevelAttributes(type), name!);
  if (attribute === undefined) return undefined;
  let subAttribute: AttributeDefinition | undefined;
  if (sub !== undefined) {
    subAttribute = findAttribute(attribute.subAttributes ?? [], sub);
    if (subAttribute === undefined) return undefined;
  }
  if (filter !== undefined && !(attribute.multiValued && attribute.type === "complex")) {
    return `"${path}" filters ${attribute.name}, which is not a multi-valued complex attribute`;
  }
  const canonical =
    (extension === undefined ? "" : `${extension.id}:`) +
    attribute.name +
    (filter === undefined ? "" : `[${filter}]`) +
    (subAttribute === undefined ? "" : `.${subAttribute.name}`);
  return { extension, attribute, filter, subAttribute, canonical };
}
