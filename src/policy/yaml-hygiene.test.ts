import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { validateConfigFile } from "./config-loader.js";

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "tenure-yaml-"));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** `line:column path: message` of every problem in a tenure.yaml made of these bytes. */
async function problemsOf(content: string | Buffer): Promise<string[]> {
  const file = join(dir, "tenure.yaml");
  await writeFile(file, content);
  const { config, errors } = await validateConfigFile(file, { env: {} });
  expect(config).toBeUndefined();
  return errors.map((e) => `${e.line}:${e.column} ${e.path}: ${e.message}`);
}

const source = ["sources:", "  hr:", "    type: csv"];

// Each of these loaded before, changed into something else than was written: a tag dropped or acted
// on, a __proto__ key turned into an object's prototype, a NUL or a bad byte carried into a value.
describe("the loader refuses what YAML would silently change", () => {
  it("refuses tags that are not YAML's core ones, at their node", async () => {
    const problems = await problemsOf(
      [
        ...source,
        "    path: !include ./path.yaml",
        "    timeZone: !!js/function 'function () { return \"UTC\" }'",
        "    delimiter: !!binary Ow==",
        "    columns: !!set { email }",
      ].join("\n"),
    );
    const refused = (tag: string) =>
      `tag ${tag} is not supported: tenure.yaml holds plain values (no !include, !!js/…, !!binary, !!set); remove the tag`;
    expect(problems).toEqual([
      `4:20 sources.hr.path: ${refused("!include")}`,
      `5:29 sources.hr.timeZone: ${refused("!!js/function")}`,
      `6:25 sources.hr.delimiter: ${refused("!!binary")}`,
      `7:20 sources.hr.columns: ${refused("!!set")}`,
    ]);
  });

  it("accepts core tags, and refuses one that does not fit its value", async () => {
    const problems = await problemsOf(
      [...source, "    path: !!str ./hr.csv", "lifecycle:", "  prehireDays: !!int five"].join("\n"),
    );
    expect(problems).toEqual([
      "6:16 : tag !!int does not fit its value: remove the tag or correct the value",
    ]);
  });

  it("refuses a __proto__ key anywhere, at the key", async () => {
    expect(await problemsOf(["__proto__: { database: 'sqlite::memory:' }"].join("\n"))).toEqual([
      "1:1 __proto__: a key named __proto__ is not allowed: it would change the object it sits in",
    ]);
    expect(
      await problemsOf(
        [...source, "    path: ./hr.csv", "    columns:", '      "__proto__": { email: x }'].join("\n"),
      ),
    ).toEqual([
      "6:7 sources.hr.columns.__proto__: a key named __proto__ is not allowed: it would change the object it sits in",
    ]);
  });

  it("refuses a NUL written in the file or as an escape", async () => {
    expect(await problemsOf([...source, "    path: ./hr\u0000.csv"].join("\n"))).toEqual([
      "4:15 : the file contains a NUL character; tenure.yaml is text",
    ]);
    expect(await problemsOf([...source, '    path: "./hr\\0.csv"'].join("\n"))).toEqual([
      "4:11 sources.hr.path: a value must not contain a NUL character",
    ]);
    expect(await problemsOf([...source, "    path: ./hr.csv", '    "col\\x00umns": {}'].join("\n"))).toEqual([
      '5:5 sources.hr["col\\u0000umns"]: a key must not contain a NUL character',
    ]);
  });

  it("refuses bytes that are not UTF-8, at their line and column", async () => {
    const latin1 = Buffer.concat([
      Buffer.from([...source, "    path: ./hr.csv", "    columns: { givenName: Pr"].join("\n")),
      Buffer.from([0xe9]),
      Buffer.from("nom }\n"),
    ]);
    expect(await problemsOf(latin1)).toEqual([
      "5:29 : byte 0xE9 is not UTF-8: tenure.yaml must be UTF-8 text (re-save it as UTF-8)",
    ]);
    // A UTF-8 byte-order mark and multi-byte characters are fine.
    const file = join(dir, "tenure.yaml");
    await writeFile(
      file,
      `\ufeff${[...source, "    path: ./hr.csv", "    columns: { givenName: Prénom }"].join("\n")}`,
    );
    expect((await validateConfigFile(file, { env: {} })).errors).toEqual([]);
  });
});
