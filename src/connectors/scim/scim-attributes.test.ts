import { describe, expect, it } from "vitest";
import {
  ENTERPRISE_USER_SCHEMA,
  parseScimPath,
  readScimPath,
  type ScimPath,
  topLevelPath,
  writeScimPath,
} from "./scim-attributes.js";

const path = (text: string) => {
  const parsed = parseScimPath(text);
  if (typeof parsed === "string") throw new Error(parsed);
  return parsed;
};

describe("parseScimPath", () => {
  it("parses core, sub-attribute, filtered and extension paths", () => {
    expect(path("displayName")).toEqual({ text: "displayName", attribute: "displayName" });
    expect(path("name.givenName")).toMatchObject({ attribute: "name", subAttribute: "givenName" });
    expect(path('emails[type eq "work"].value')).toMatchObject({
      attribute: "emails",
      filter: { attribute: "type", value: "work" },
      subAttribute: "value",
    });
    expect(path(`${ENTERPRISE_USER_SCHEMA}:manager.value`)).toMatchObject({
      schema: ENTERPRISE_USER_SCHEMA,
      attribute: "manager",
      subAttribute: "value",
    });
  });

  it("refuses what it cannot write safely, saying why", () => {
    for (const bad of [
      "",
      "emails[type eq work].value",
      'emails[type eq "work"]',
      "a.b.c",
      "id",
      "groups",
      "active",
    ]) {
      expect(typeof parseScimPath(bad), bad).toBe("string");
    }
  });
});

describe("readScimPath / writeScimPath", () => {
  const email = path('emails[type eq "work"].value');
  const given = path("name.givenName");
  const department = path(`${ENTERPRISE_USER_SCHEMA}:department`);

  it("reads case-insensitively, the matching element only", () => {
    const user = {
      Emails: [
        { type: "home", value: "home@x.test" },
        { Type: "Work", value: "work@x.test" },
      ],
      name: { GivenName: "Ann" },
      [ENTERPRISE_USER_SCHEMA]: { department: "Sales" },
    };
    expect(readScimPath(user, email)).toBe("work@x.test");
    expect(readScimPath(user, given)).toBe("Ann");
    expect(readScimPath(user, department)).toBe("Sales");
    expect(readScimPath({}, email)).toBeNull();
    expect(readScimPath({ displayName: "" }, path("displayName"))).toBeNull();
  });

  it("writes into a copy's element, keeps the others, and removes what becomes empty", () => {
    const user: Record<string, unknown> = { emails: [{ type: "home", value: "home@x.test" }] };
    writeScimPath(user, email, "work@x.test");
    expect(user.emails).toEqual([
      { type: "home", value: "home@x.test" },
      { type: "work", value: "work@x.test" },
    ]);
    writeScimPath(user, email, null);
    expect(user.emails).toEqual([{ type: "home", value: "home@x.test" }]);
    writeScimPath(user, given, "Ann");
    writeScimPath(user, department, "Sales");
    expect(user).toMatchObject({
      name: { givenName: "Ann" },
      [ENTERPRISE_USER_SCHEMA]: { department: "Sales" },
    });
    writeScimPath(user, given, null);
    writeScimPath(user, department, null);
    expect(user).toEqual({ emails: [{ type: "home", value: "home@x.test" }] });
  });

  it("names the top-level attribute a PATCH replaces", () => {
    expect([email, given, department].map((p: ScimPath) => topLevelPath(p))).toEqual([
      "emails",
      "name",
      `${ENTERPRISE_USER_SCHEMA}:department`,
    ]);
  });
});
