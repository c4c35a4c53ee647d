import { describe, expect, it } from "vitest";
import { compileFilter, indexedLookup, parseScimFilter, quoteBareValues } from "./scim-filter-parser.js";
import type { Json } from "./scim-resource-shape.js";
import { GROUP_RESOURCE, USER_RESOURCE } from "./scim-server-schemas.js";

const ENT = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

const users: Json[] = [
  {
    id: "u1",
    externalId: "Ext-1",
    userName: "Ada.Lovelace@example.test",
    displayName: "Ada Lovelace",
    active: true,
    name: { givenName: "Ada", familyName: "Lovelace" },
    emails: [
      { value: "ada@example.test", type: "work", primary: true },
      { value: "ada@home.test", type: "home" },
    ],
    [ENT]: { department: "Engineering", employeeNumber: "100" },
    meta: { created: "2026-01-05T09:00:00.000Z", lastModified: "2026-02-01T09:00:00.000Z" },
  },
  {
    id: "u2",
    externalId: "ext-2",
    userName: "grace",
    active: false,
    title: "AE",
    name: { givenName: "Grace", familyName: "Hopper" },
    emails: [{ value: "grace@example.org", type: "work" }],
    [ENT]: { department: "Sales", employeeNumber: "200" },
    meta: { created: "2026-03-01T09:00:00.000Z", lastModified: "2026-03-01T09:00:00.000Z" },
  },
];

function ids(filter: string): string[] {
  const test = compileFilter(USER_RESOURCE, parseScimFilter(filter));
  return users.filter(test).map((u) => String(u.id));
}

function refused(filter: string): unknown {
  try {
    ids(filter);
  } catch (err) {
    return err;
  }
  throw new Error(`${filter} was not refused`);
}

describe("SCIM filters", () => {
  it("compares with every operator, case-insensitively unless the attribute is caseExact", () => {
    expect(ids('userName eq "ADA.LOVELACE@EXAMPLE.TEST"')).toEqual(["u1"]);
    expect(ids('userName ne "grace"')).toEqual(["u1"]);
    expect(ids('displayName co "LOVE"')).toEqual(["u1"]);
    expect(ids('userName sw "gr"')).toEqual(["u2"]);
    expect(ids('userName ew "example.test"')).toEqual(["u1"]);
    expect(ids("title pr")).toEqual(["u2"]);
    expect(ids('name.familyName gt "Ka"')).toEqual(["u1"]);
    expect(ids('name.familyName ge "Lovelace"')).toEqual(["u1"]);
    expect(ids('name.familyName lt "Ka"')).toEqual(["u2"]);
    expect(ids('name.familyName le "Hopper"')).toEqual(["u2"]);
    // externalId is caseExact: "EXT-2" is not "ext-2".
    expect(ids('externalId eq "ext-2"')).toEqual(["u2"]);
    expect(ids('externalId eq "EXT-2"')).toEqual([]);
  });

  it("combines with and, or, not and parentheses, and filters values of multi-valued attributes", () => {
    expect(ids('active eq true and name.givenName eq "Ada"')).toEqual(["u1"]);
    expect(ids('userName eq "grace" or displayName co "Ada"')).toEqual(["u1", "u2"]);
    expect(ids('not (userName eq "grace")')).toEqual(["u1"]);
    expect(ids('emails[type eq "work" and value ew ".org"]')).toEqual(["u2"]);
    expect(ids('emails.value co "home"')).toEqual(["u1"]);
    // A complex attribute compares through its value.
    expect(ids('emails co "example.org"')).toEqual(["u2"]);
    expect(ids(`${ENT}:department eq "sales"`)).toEqual(["u2"]);
    expect(ids("active eq false")).toEqual(["u2"]);
  });

  it("compares dateTime attributes as instants, in any offset", () => {
    expect(ids('meta.created gt "2026-02-01T00:00:00Z"')).toEqual(["u2"]);
    expect(ids('meta.created lt "2026-01-05T10:00:00+01:00"')).toEqual([]);
    expect(ids('meta.lastModified ge "2026-02-01T10:00:00+01:00"')).toEqual(["u1", "u2"]);
  });

  it("reads the reference collection's bare values and any attribute case", () => {
    expect(quoteBareValues("userName sw O")).toBe('userName sw "O"');
    expect(quoteBareValues('active eq True and x eq 12 and y eq "a b"')).toBe(
      'active eq true and x eq 12 and y eq "a b"',
    );
    expect(
      ids("name.FamilyName eq hopper and (emails.Value co example.com or emails.Value co example.org)"),
    ).toEqual(["u2"]);
    expect(ids("meta.Created gt 2015-10-10T14:38:21.8617979-07:00")).toEqual(["u1", "u2"]);
    expect(ids('DisplayName eq "Ada Lovelace"')).toEqual(["u1"]);
  });

  it("matches nothing on an attribute no schema defines (and ne everything)", () => {
    expect(ids('nickName2 eq "x"')).toEqual([]);
    expect(ids('nickName2 ne "x"')).toEqual(["u1", "u2"]);
  });

  it("refuses what does not parse and operators a type does not have, as 400 invalidFilter", () => {
    for (const bad of [
      "userName eq",
      'userName zz "x"',
      '(userName eq "x"',
      'userName eq "x" and',
      "emails[type eq",
      "",
    ]) {
      expect(() => parseScimFilter(bad), bad).toThrow(
        expect.objectContaining({ httpStatus: 400, scimType: "invalidFilter" }),
      );
    }
    expect(refused("active gt true")).toMatchObject({
      scimType: "invalidFilter",
      message: expect.stringContaining("boolean"),
    });
    expect(refused('meta.created gt "yesterday"')).toMatchObject({ scimType: "invalidFilter" });
  });

  it("answers the lookups clients make before a create from an index", () => {
    expect(indexedLookup(USER_RESOURCE, parseScimFilter('userName eq "Ada"'))).toEqual({
      column: "name",
      value: "Ada",
    });
    expect(indexedLookup(USER_RESOURCE, parseScimFilter('externalId eq "e1" and active eq true'))).toEqual({
      column: "externalId",
      value: "e1",
    });
    expect(indexedLookup(USER_RESOURCE, parseScimFilter('ID eq "u1"'))).toEqual({
      column: "id",
      value: "u1",
    });
    expect(indexedLookup(GROUP_RESOURCE, parseScimFilter('displayName eq "Sales"'))).toEqual({
      column: "name",
      value: "Sales",
    });
    expect(indexedLookup(USER_RESOURCE, parseScimFilter('displayName eq "Ada"'))).toBeUndefined();
    expect(
      indexedLookup(USER_RESOURCE, parseScimFilter('userName eq "a" or userName eq "b"')),
    ).toBeUndefined();
  });
});
