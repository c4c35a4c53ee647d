import { describe, expect, it } from "vitest";
import { InvalidInputError } from "../../shared/errors.js";
import { parseSqlConnectorConfig } from "./sql-schemas.js";

const minimal = {
  url: "sqlite:/var/lib/app/app.db",
  users: { table: "users", id: "id", username: "login", enabled: { column: "active" } },
  memberships: { table: "user_groups", user: "user_id", group: "group_name" },
};

function problems(raw: unknown): readonly string[] {
  try {
    parseSqlConnectorConfig("app", raw);
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidInputError);
    return (err as InvalidInputError).details;
  }
  throw new Error("expected the configuration to be refused");
}

describe("parseSqlConnectorConfig", () => {
  it("applies the defaults and freezes the result", () => {
    const config = parseSqlConnectorConfig("app", minimal);
    expect(config).toEqual({
      ...minimal,
      timeoutMs: 10_000,
      users: {
        ...minimal.users,
        newId: "database",
        enabled: { column: "active", true: 1, false: 0 },
        attributes: {},
      },
      memberships: { ...minimal.memberships, userRef: "id" },
    });
    expect(Object.isFrozen(config.users.enabled)).toBe(true);
  });

  it.each([
    "sqlite:app.db",
    "postgres://app:pw@db.internal:5432/app?sslmode=require",
    "postgresql://db/app",
    "mysql://app:pw@db:3306/app",
    "mariadb://app@db/app",
  ])("accepts %s", (url) => {
    expect(parseSqlConnectorConfig("app", { ...minimal, url }).url).toBe(url);
  });

  it.each([
    ["an unknown scheme", "oracle://app:pw@db/app"],
    ["a bare sqlite:", "sqlite:"],
    ["query parameters on mysql", "mysql://app:pw@db/app?ssl=true"],
  ])("refuses %s without echoing the URL", (_, url) => {
    const found = problems({ ...minimal, url });
    expect(found[0]).toMatch(/^systems\.app\.url: /);
    expect(found.join("\n")).not.toContain("pw");
  });

  it("refuses unknown keys at every level", () => {
    const found = problems({
      ...minimal,
      extra: 1,
      users: { ...minimal.users, colour: "x", enabled: { column: "active", yes: 1 } },
      memberships: { ...minimal.memberships, role: "x" },
      groups: { table: "groups", key: "name", owner: "x" },
    });
    expect(found).toEqual(
      expect.arrayContaining([
        'systems.app: Unrecognized key: "extra"',
        'systems.app.users: Unrecognized key: "colour"',
        'systems.app.users.enabled: Unrecognized key: "yes"',
        'systems.app.memberships: Unrecognized key: "role"',
        'systems.app.groups: Unrecognized key: "owner"',
      ]),
    );
  });

  it("accepts any identifier characters but refuses empty names and NUL", () => {
    const hostile = { ...minimal, users: { ...minimal.users, table: 'users"; drop table x; --' } };
    expect(parseSqlConnectorConfig("app", hostile).users.table).toBe('users"; drop table x; --');
    expect(problems({ ...minimal, users: { ...minimal.users, id: "" } })).toEqual([
      "systems.app.users.id: must not be empty",
    ]);
    expect(problems({ ...minimal, memberships: { ...minimal.memberships, group: "a\u0000b" } })).toEqual([
      "systems.app.memberships.group: must not contain a NUL character",
    ]);
  });

  it("accepts boolean, number and text flag values and the optional parts", () => {
    const config = parseSqlConnectorConfig("app", {
      ...minimal,
      schema: "app",
      users: {
        ...minimal.users,
        newId: "uuid",
        enabled: { column: "status", true: "ACTIVE", false: "LOCKED" },
        attributes: { email: "mail", displayName: "full_name" },
        lastUsedAt: "last_login",
      },
      memberships: { ...minimal.memberships, userRef: "username" },
      groups: { table: "groups", key: "name", displayName: "title" },
    });
    expect(config.users.enabled).toEqual({ column: "status", true: "ACTIVE", false: "LOCKED" });
    expect(
      parseSqlConnectorConfig("app", {
        ...minimal,
        users: { ...minimal.users, enabled: { column: "a", true: true, false: false } },
      }).users.enabled.true,
    ).toBe(true);
  });
});
