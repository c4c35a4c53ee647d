import { describe, expect, it } from "vitest";
import { parseAttributeList, project, shapeResource } from "./scim-resource-shape.js";
import { ENTERPRISE_USER_SCHEMA, GROUP_RESOURCE, USER_RESOURCE, USER_SCHEMA } from "./scim-server-schemas.js";

const refusal = (body: unknown) => {
  try {
    shapeResource(body, USER_RESOURCE);
  } catch (err) {
    return err;
  }
  throw new Error("not refused");
};

describe("SCIM resources as stored", () => {
  it("spells names as the schemas do, reads Entra's leniencies, and rewrites schemas", () => {
    const { resource, ignored } = shapeResource(
      {
        schemas: [USER_SCHEMA],
        UserName: "ada",
        active: "True",
        emails: [{ Primary: "true", Type: "work", VALUE: "ada@example.test" }],
        "URN:IETF:PARAMS:SCIM:SCHEMAS:EXTENSION:ENTERPRISE:2.0:USER": {
          Department: "R&D",
          Manager: { Value: "m1" },
        },
        roles: [],
        adreses: [{ country: "Germany" }],
        name: { givenName: "Ada", honorificPrefix: null, nick: "x" },
      },
      USER_RESOURCE,
    );
    expect(resource).toEqual({
      schemas: [USER_SCHEMA, ENTERPRISE_USER_SCHEMA],
      userName: "ada",
      active: true,
      emails: [{ primary: true, type: "work", value: "ada@example.test" }],
      [ENTERPRISE_USER_SCHEMA]: { department: "R&D", manager: { value: "m1" } },
      name: { givenName: "Ada" },
    });
    expect(ignored).toEqual(["adreses", "name.nick"]);
  });

  it("drops what the server owns or never keeps: id, meta, manager.displayName, password", () => {
    const { resource } = shapeResource(
      {
        id: "client-chosen",
        userName: "ada",
        password: "hunter2",
        meta: { created: "2019-09-18T18:15:26Z", resourceType: "User" },
        [ENTERPRISE_USER_SCHEMA]: { manager: { value: "m1", displayName: "Boss" } },
      },
      USER_RESOURCE,
    );
    expect(resource).toEqual({
      schemas: [USER_SCHEMA, ENTERPRISE_USER_SCHEMA],
      userName: "ada",
      [ENTERPRISE_USER_SCHEMA]: { manager: { value: "m1" } },
    });
    expect(JSON.stringify(resource)).not.toContain("hunter2");
  });

  it("refuses wrong types and missing required attributes, naming where (400 invalidValue)", () => {
    expect(refusal({ userName: 5 })).toMatchObject({
      httpStatus: 400,
      scimType: "invalidValue",
      message: "userName: expected a string",
    });
    expect(refusal({ userName: "a", active: "maybe" })).toMatchObject({
      message: "active: expected true or false",
    });
    expect(refusal({ userName: "a", emails: [{ value: "x" }, { primary: 1 }] })).toMatchObject({
      message: "emails[1].primary: expected true or false",
    });
    expect(refusal({ userName: "a", name: "Ada" })).toMatchObject({ message: "name: expected an object" });
    expect(refusal({ userName: "a", [ENTERPRISE_USER_SCHEMA]: "x" })).toMatchObject({
      message: `${ENTERPRISE_USER_SCHEMA}: expected an object`,
    });
    expect(refusal({ displayName: "no userName" })).toMatchObject({ message: "userName is required" });
    expect(refusal({ userName: "" })).toMatchObject({ message: "userName is required" });
    expect(refusal([{ userName: "a" }])).toMatchObject({ scimType: "invalidSyntax" });
    expect(() => shapeResource({ members: [] }, GROUP_RESOURCE)).toThrow("displayName is required");
  });
});

describe("attributes and excludedAttributes", () => {
  const served = {
    schemas: [USER_SCHEMA, ENTERPRISE_USER_SCHEMA],
    id: "u1",
    userName: "ada",
    name: { givenName: "Ada", familyName: "Lovelace" },
    emails: [
      { value: "a@w.test", type: "work" },
      { value: "a@h.test", type: "home" },
    ],
    [ENTERPRISE_USER_SCHEMA]: { department: "R&D", costCenter: "42" },
    meta: { resourceType: "User", created: "2026-01-01T00:00:00Z" },
  };

  it("returns only what is asked for, plus id and schemas", () => {
    expect(
      project(served, USER_RESOURCE, {
        attributes: parseAttributeList("USERNAME, name.familyName,emails.value"),
      }),
    ).toEqual({
      schemas: served.schemas,
      id: "u1",
      userName: "ada",
      name: { familyName: "Lovelace" },
      emails: [{ value: "a@w.test" }, { value: "a@h.test" }],
    });
    expect(
      project(served, USER_RESOURCE, {
        attributes: parseAttributeList(`${ENTERPRISE_USER_SCHEMA}:department,emails[type eq "work"],nosuch`),
      }),
    ).toEqual({
      schemas: served.schemas,
      id: "u1",
      [ENTERPRISE_USER_SCHEMA]: { department: "R&D" },
      emails: served.emails,
    });
  });

  it("leaves out what is excluded, but never id", () => {
    const out = project(served, USER_RESOURCE, {
      excludedAttributes: parseAttributeList(`emails,meta,id,${ENTERPRISE_USER_SCHEMA}`),
    });
    expect(out).toEqual({ schemas: served.schemas, id: "u1", userName: "ada", name: served.name });
    expect(served.emails).toHaveLength(2);
  });
});
