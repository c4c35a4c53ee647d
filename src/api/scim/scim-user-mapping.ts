import { normaliseText } from "../../domain/normalise-text.js";
import type { AttributeName, ScimKeyAttribute } from "../../policy/config-types.js";
import type { Finding } from "../../sources/source-types.js";
import { isObject, type Json } from "./scim-resource-shape.js";
import { invalidValue, type ScimError } from "./scim-server-errors.js";
import { ENTERPRISE_USER_SCHEMA, TENURE_USER_SCHEMA } from "./scim-server-schemas.js";

/**
 * SCIM User → Tenure record: the one mapping table of the SCIM server (docs/scim.md has it for people).
 * The record's keys are Tenure attribute names (`ingestRecords` with `attributeNames: true`).
 *
 * | Tenure attribute   | SCIM User attribute                                                  |
 * |--------------------|----------------------------------------------------------------------|
 * | the source's key   | `server.scim.key`: externalId, enterprise employeeNumber, userName or id |
 * | employeeId         | enterprise employeeNumber, else the key                              |
 * | givenName          | name.givenName                                                       |
 * | familyName         | name.familyName                                                      |
 * | displayName        | displayName, else name.formatted                                     |
 * | email              | emails: the primary one, else the one of type work                   |
 * | title              | title                                                                |
 * | location           | addresses: the primary one's locality, else the work one's           |
 * | department         | enterprise department                                                |
 * | costCenter         | enterprise costCenter                                                |
 * | managerId          | enterprise manager.value: the key of the User with that id, else the value as given |
 * | employmentType     | userType, lower-cased (employee, contractor, intern)                 |
 * | status             | active: false → terminated, else active                              |
 * | startDate, endDate | Tenure extension startDate, endDate                                   |
 * | terminationDate    | Tenure extension terminationDate (set by the server when active turns false) |
 */

export const ENTERPRISE_PREFIX = `${ENTERPRISE_USER_SCHEMA}:`;
export const TENURE_PREFIX = `${TENURE_USER_SCHEMA}:`;

const KEY_PATHS: Record<ScimKeyAttribute, string> = {
  externalId: "externalId",
  employeeNumber: `${ENTERPRISE_PREFIX}employeeNumber`,
  userName: "userName",
  id: "id",
};

/** The SCIM path of the attribute `server.scim.key` names, for messages. */
export function keyPath(key: ScimKeyAttribute): string {
  return KEY_PATHS[key];
}

function text(value: unknown): string | null {
  return typeof value === "string" && value.trim() !== "" ? value : null;
}

const extension = (user: Json, urn: string): Json => (isObject(user[urn]) ? (user[urn] as Json) : {});

export const enterpriseOf = (user: Json): Json => extension(user, ENTERPRISE_USER_SCHEMA);
export const tenureOf = (user: Json): Json => extension(user, TENURE_USER_SCHEMA);

/**
 * The person's key in the push source, or null when the User lacks the attribute `key` names. In the
 * normal form of every source key (NFC, trimmed: `normaliseText`), so `ext-1 ` or an NFD spelling
 * cannot be a second User of the same person.
 */
export function personKeyOf(user: Json, id: string, key: ScimKeyAttribute): string | null {
  const raw = rawPersonKeyOf(user, id, key);
  return raw === null ? null : normaliseText(raw);
}

function rawPersonKeyOf(user: Json, id: string, key: ScimKeyAttribute): string | null {
  switch (key) {
    case "externalId":
      return text(user.externalId);
    case "employeeNumber":
      return text(enterpriseOf(user).employeeNumber);
    case "userName":
      return text(user.userName);
    case "id":
      return id;
  }
}

/** The element a single Tenure attribute is read from: the primary one, else the one of type work. */
function preferred(list: unknown): { element: Json; path: string } | undefined {
  if (!Array.isArray(list)) return undefined;
  const elements = list.filter(isObject);
  const primary = elements.find((e) => e.primary === true);
  if (primary !== undefined) return { element: primary, path: "[primary eq true]" };
  const work = elements.find((e) => typeof e.type === "string" && e.type.toLowerCase() === "work");
  return work === undefined ? undefined : { element: work, path: '[type eq "work"]' };
}

/** One User as a record of the push source, and the SCIM path each attribute came from. */
export interface PersonRecord {
  row: Record<string, string | null>;
  /** Tenure attribute → the SCIM attribute that fed it, to name it when the record is refused. */
  paths: Partial<Record<AttributeName, string>>;
}

export interface MappingContext {
  /** The User's SCIM id. */
  id: string;
  key: ScimKeyAttribute;
  /** The push source's key attribute (its `key:`, default employeeId). */
  keyAttribute: AttributeName;
  personKey: string;
  /** The manager's key, resolved from manager.value by the caller; null when there is none. */
  managerKey: string | null;
}

/** Maps a stored-form User (shapeResource's output) to a push-source record. Pure. */
export function userToRecord(user: Json, ctx: MappingContext): PersonRecord {
  const name = isObject(user.name) ? user.name : {};
  const enterprise = enterpriseOf(user);
  const tenure = tenureOf(user);
  const email = preferred(user.emails);
  const address = preferred(user.addresses);
  const row: Record<string, string | null> = {
    employeeId: text(enterprise.employeeNumber) ?? ctx.personKey,
    givenName: text(name.givenName),
    familyName: text(name.familyName),
    displayName: text(user.displayName) ?? text(name.formatted),
    email: text(email?.element.value),
    title: text(user.title),
    location: text(address?.element.locality),
    department: text(enterprise.department),
    costCenter: text(enterprise.costCenter),
    managerId: ctx.managerKey,
    employmentType: text(user.userType)?.toLowerCase() ?? null,
    status: user.active === false ? "terminated" : "active",
    startDate: text(tenure.startDate),
    endDate: text(tenure.endDate),
    terminationDate: text(tenure.terminationDate),
  };
  row[ctx.keyAttribute] = ctx.personKey;
  const paths: Partial<Record<AttributeName, string>> = {
    employeeId:
      text(enterprise.employeeNumber) !== null ? `${ENTERPRISE_PREFIX}employeeNumber` : keyPath(ctx.key),
    givenName: "name.givenName",
    familyName: "name.familyName",
    displayName: text(user.displayName) !== null ? "displayName" : "name.formatted",
    email: `emails${email?.path ?? '[type eq "work"]'}.value`,
    title: "title",
    location: `addresses${address?.path ?? '[type eq "work"]'}.locality`,
    department: `${ENTERPRISE_PREFIX}department`,
    costCenter: `${ENTERPRISE_PREFIX}costCenter`,
    managerId: `${ENTERPRISE_PREFIX}manager.value`,
    employmentType: "userType",
    status: "active",
    startDate: `${TENURE_PREFIX}startDate`,
    endDate: `${TENURE_PREFIX}endDate`,
    terminationDate: `${TENURE_PREFIX}terminationDate`,
  };
  paths[ctx.keyAttribute] = keyPath(ctx.key);
  return { row, paths };
}

const ROW_PREFIX = /^Row \d+(?: \(line \d+\))?(?:, key "(?:[^"\\]|\\.)*")?: /;

/**
 * The 400 invalidValue for a record the push source refused: every error finding, each naming the SCIM
 * attribute it is about (`emails[type eq "work"].value: …`).
 */
export function refusal(findings: readonly Finding[], paths: PersonRecord["paths"]): ScimError {
  const errors = findings.filter((f) => f.severity === "error");
  const shown = errors.length > 0 ? errors : findings;
  const parts = shown.map((f) => {
    const path = f.field === undefined ? undefined : paths[f.field as AttributeName];
    // "Row 1, key "…": " locates a line in an HR file; a SCIM request is one person, named by its path.
    const message = f.message.replace(ROW_PREFIX, "");
    return path === undefined ? message : `${path}: ${message}`;
  });
  return invalidValue(
    parts.length > 0 ? `Tenure refused this person: ${parts.join("; ")}` : "Tenure refused this person",
  );
}
