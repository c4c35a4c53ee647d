import { describe, expect, it } from "vitest";
import { InvalidInputError } from "../../shared/errors.js";
import { compileInstructions, PLACEHOLDERS, parseManualConnectorConfig } from "./manual-schemas.js";

function problems(raw: unknown): readonly string[] {
  try {
    parseManualConnectorConfig("legacy", raw);
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidInputError);
    return (err as InvalidInputError).details;
  }
  throw new Error("expected the configuration to be refused");
}

describe("parseManualConnectorConfig", () => {
  it("applies the defaults and freezes the result", () => {
    const config = parseManualConnectorConfig("legacy", { fulfiller: " it-helpdesk@example.test " });
    expect(config).toEqual({ fulfiller: "it-helpdesk@example.test", slaHours: 24, instructions: {} });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it("accepts a url, an SLA in hours and instructions per kind using their placeholders", () => {
    const config = parseManualConnectorConfig("legacy", {
      fulfiller: "Payroll team",
      slaHours: 4.5,
      url: "https://payroll.example.test/admin",
      instructions: {
        create: "New user {username} ({displayName}, {email}) at {url}, {enabled}:\n{attributes}",
        grant: "Add {username} to {entitlement} in {system}; ask {fulfiller}. Braces: {{literal}}",
      },
    });
    expect(config.slaHours).toBe(4.5);
    expect(config.instructions.grant).toContain("{{literal}}");
  });

  it.each([
    [{}, /^systems\.legacy\.fulfiller: expected who carries out the tasks/],
    [{ fulfiller: "   " }, /^systems\.legacy\.fulfiller: expected who carries out/],
    [{ fulfiller: "a\u0007b" }, /^systems\.legacy\.fulfiller: must not contain control characters/],
    [{ fulfiller: "x", slaHours: 0 }, /^systems\.legacy\.slaHours: expected a number of hours above 0/],
    [{ fulfiller: "x", slaHours: "24" }, /^systems\.legacy\.slaHours: expected a number of hours/],
    [{ fulfiller: "x", slaHours: 9000 }, /^systems\.legacy\.slaHours: expected at most a year/],
    [{ fulfiller: "x", url: "ftp://files.example.test" }, /^systems\.legacy\.url: must be an http/],
    [{ fulfiller: "x", colour: "red" }, /^systems\.legacy: Unrecognized key: "colour"/],
    [
      { fulfiller: "x", instructions: { rotate: "Rotate it" } },
      /^systems\.legacy\.instructions: Unrecognized key: "rotate"/,
    ],
    [
      { fulfiller: "x", instructions: { grant: "" } },
      /^systems\.legacy\.instructions\.grant: must not be empty/,
    ],
  ])("refuses %j", (raw, message) => {
    const found = problems(raw);
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(message);
  });

  it("refuses credentials in the url without echoing them", () => {
    const found = problems({ fulfiller: "x", url: "https://admin:hunter2@payroll.example.test/" });
    expect(found).toEqual([
      "systems.legacy.url: must not contain credentials (user:password@): the instructions show it to people",
    ]);
  });

  it("checks each kind's template against that kind's placeholders, naming the kind", () => {
    const found = problems({
      fulfiller: "x",
      instructions: {
        create: "Create {usrname}",
        disable: "Disable {username} and drop {entitlement}",
        grant: "Grant {entitlement} to {username",
        revoke: "Revoke {entitlement}} from {username}",
        update: "Update {username} at {url}",
      },
    });
    expect(found).toEqual([
      `systems.legacy.instructions.create: unknown placeholder {usrname}: this kind has ${PLACEHOLDERS.create.join(", ")}`,
      `systems.legacy.instructions.update: uses {url}, but \`url\` is not set`,
      `systems.legacy.instructions.disable: unknown placeholder {entitlement}: this kind has system, username, fulfiller, url`,
      'systems.legacy.instructions.grant: unclosed "{" at position 24 (write "{{" for a literal brace)',
      'systems.legacy.instructions.revoke: unmatched "}" at position 21 (write "}}" for a literal brace)',
    ]);
  });
});

describe("compileInstructions", () => {
  it("splits text and placeholders, with doubled braces as literal ones", () => {
    expect(compileInstructions("a {{b}} { username }c", ["username"])).toEqual({
      source: "a {{b}} { username }c",
      parts: [{ text: "a {b} " }, { placeholder: "username" }, { text: "c" }],
    });
  });
});
