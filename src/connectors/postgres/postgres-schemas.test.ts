import { describe, expect, it } from "vitest";
import { InvalidInputError } from "../../shared/errors.js";
import { invalidRoleNameReason, parsePostgresConnectorConfig } from "./postgres-schemas.js";

const minimal = {
  url: "postgres://tenure:s3cret-pw@db.internal:5432/app",
  passwordSink: { file: "secrets/app-passwords.jsonl" },
};

function problems(raw: unknown): readonly string[] {
  try {
    parsePostgresConnectorConfig("appdb", raw);
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidInputError);
    return (err as InvalidInputError).details;
  }
  throw new Error("expected the configuration to be refused");
}

describe("parsePostgresConnectorConfig", () => {
  it("applies the defaults and freezes the result", () => {
    const config = parsePostgresConnectorConfig("appdb", minimal);
    expect(config).toEqual({ ...minimal, excludeRoles: [], timeoutMs: 10_000 });
    expect(Object.isFrozen(config.passwordSink)).toBe(true);
  });

  it("accepts every key", () => {
    const full = {
      ...minimal,
      url: "postgresql://tenure@db.internal/app?sslmode=require",
      usernamePrefix: "u_",
      excludeRoles: ["app_owner"],
      groups: { roles: ["app_reader", "pg_read_all_data"] },
      reassignOwnedTo: "app_owner",
      attributeTable: "tenure.account_attributes",
      connectionLimit: 5,
      timeoutMs: 3000,
    };
    expect(parsePostgresConnectorConfig("appdb", full)).toEqual(full);
    expect(parsePostgresConnectorConfig("appdb", { ...minimal, groups: { prefix: "grp_" } }).groups).toEqual({
      prefix: "grp_",
    });
  });

  it.each([
    ["another scheme", "mysql://tenure:s3cret-pw@db/app"],
    ["no host", "postgres://tenure:s3cret-pw@/app"],
    ["not a URL", "postgres://tenure:s3cret-pw@db:port/app"],
  ])("refuses %s without echoing the URL", (_, url) => {
    const found = problems({ ...minimal, url });
    expect(found[0]).toMatch(/^systems\.appdb\.url: /);
    expect(found.join("\n")).not.toContain("s3cret-pw");
  });

  it("refuses groups with both or neither of prefix and roles", () => {
    expect(problems({ ...minimal, groups: { prefix: "g_", roles: ["a"] } })[0]).toMatch(
      /^systems\.appdb\.groups: give either prefix or roles/,
    );
    expect(problems({ ...minimal, groups: {} })[0]).toMatch(/^systems\.appdb\.groups: /);
  });

  it("refuses bad role names, unknown keys and a missing sink, naming each place", () => {
    const found = problems({
      url: minimal.url,
      reassignOwnedTo: "pg_owner",
      groups: { roles: ["public"] },
      attributeTable: "a.b.c",
      colour: "blue",
    });
    expect(found).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^systems\.appdb\.reassignOwnedTo: is reserved/),
        expect.stringMatching(/^systems\.appdb\.groups\.roles\.0: is reserved/),
        expect.stringMatching(/^systems\.appdb\.attributeTable: must be TABLE or SCHEMA\.TABLE/),
        expect.stringMatching(/^systems\.appdb\.passwordSink: /),
        expect.stringMatching(/^systems\.appdb: .*colour/),
      ]),
    );
  });
});

describe("invalidRoleNameReason", () => {
  it.each([
    ["u_grace", undefined],
    ['O\'Brien "the" Zoë', undefined],
    ["x".repeat(63), undefined],
    ["x".repeat(64), "must be at most 63 bytes"],
    ["é".repeat(32), "must be at most 63 bytes"], // 32 characters, 64 bytes: PostgreSQL would cut it
    ["", "must not be empty"],
    ["a\u0000b", "must not contain a NUL character"],
    ["a\nb", "must not contain control characters"],
    ["public", "is reserved by PostgreSQL"],
    ["none", "is reserved by PostgreSQL"],
    ["pg_monitor", "is reserved by PostgreSQL (pg_…)"],
  ])("%j → %s", (name, reason) => {
    expect(invalidRoleNameReason(name)).toBe(reason);
  });

  it("allows predefined pg_ roles where asked (group role lists)", () => {
    expect(invalidRoleNameReason("pg_monitor", { predefined: true })).toBeUndefined();
    expect(invalidRoleNameReason("public", { predefined: true })).toBe("is reserved by PostgreSQL");
  });
});
