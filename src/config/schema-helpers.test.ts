import { describe, expect, it } from "vitest";
import { z } from "zod";
import { knownKeysAt, strictObject, UNKNOWN_KEY, unknownKeyMessage } from "./schema-helpers.js";

describe("unknownKeyMessage", () => {
  it("suggests when near, else lists what is allowed", () => {
    expect(unknownKeyMessage("pth", ["path", "type"])).toBe("unknown key 'pth' — did you mean 'path'?");
    expect(unknownKeyMessage("zzz", ["path", "type"])).toBe(
      "unknown key 'zzz' — expected one of: path, type",
    );
  });
});

describe("strictObject", () => {
  const schema = strictObject({ a: z.number(), nested: strictObject({ b: z.string() }) });

  it("reports each unknown key as its own issue at the key's path, alongside other issues", () => {
    const result = schema.safeParse({ a: "x", nested: { b: "ok", bb: 1 }, c: 2, aa: 3 });
    expect(result.success).toBe(false);
    const issues = result.error?.issues ?? [];
    const unknown = issues.filter((i) => i.code === "custom" && i.params?.tenure === UNKNOWN_KEY);
    expect(unknown.map((i) => [i.path.join("."), i.message])).toEqual([
      ["nested.bb", "unknown key 'bb' — did you mean 'b'?"],
      ["c", "unknown key 'c' — did you mean 'a'?"],
      ["aa", "unknown key 'aa' — did you mean 'a'?"],
    ]);
    expect(issues.some((i) => i.code === "invalid_type" && i.path.join(".") === "a")).toBe(true);
  });

  it("uses a section's own explanation when it has one", () => {
    const withReserved = strictObject(
      { a: z.number() },
      { explainUnknownKey: (k) => (k === "later" ? "not yet" : undefined) },
    );
    const result = withReserved.safeParse({ a: 1, later: {} });
    expect(result.error?.issues[0]?.message).toBe("not yet");
  });

  it("passes a valid object through with nothing extra", () => {
    expect(schema.parse({ a: 1, nested: { b: "x" } })).toEqual({ a: 1, nested: { b: "x" } });
  });
});

describe("knownKeysAt", () => {
  const schema = z.object({
    systems: z.record(
      z.string(),
      z.discriminatedUnion("connector", [
        z.object({
          connector: z.literal("a"),
          config: z.strictObject({ url: z.string(), users: z.strictObject({ table: z.string() }) }),
        }),
        z.object({ connector: z.literal("b"), config: z.strictObject({ host: z.string() }).optional() }),
      ]),
    ),
  });
  const data = { systems: { x: { connector: "a" }, y: { connector: "b" } } };

  it("follows records and picks the union member the data's discriminator selects", () => {
    expect(knownKeysAt(schema, data, ["systems", "x", "config"])).toEqual(["url", "users"]);
    expect(knownKeysAt(schema, data, ["systems", "x", "config", "users"])).toEqual(["table"]);
    expect(knownKeysAt(schema, data, ["systems", "y", "config"])).toEqual(["host"]);
    expect(knownKeysAt(schema, data, [])).toEqual(["systems"]);
  });

  it("is undefined where the path leads to no object schema", () => {
    expect(knownKeysAt(schema, data, ["systems"])).toBeUndefined();
    expect(knownKeysAt(schema, data, ["systems", "x", "config", "url"])).toBeUndefined();
    expect(knownKeysAt(schema, data, ["nothing", "here"])).toBeUndefined();
  });
});
