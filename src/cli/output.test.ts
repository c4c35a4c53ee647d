import { PassThrough } from "node:stream";
import stringWidth from "string-width";
import { describe, expect, it } from "vitest";
import { escapeControl, printError, printJson, println, printTable } from "./output.js";

function capture() {
  const out = new PassThrough();
  const err = new PassThrough();
  const read = (s: PassThrough) => () => String(s.read() ?? "");
  return { o: { json: false, out, err }, stdout: read(out), stderr: read(err) };
}

describe("terminal output escapes control characters", () => {
  it("escapeControl makes ESC, CR, LF, TAB, NUL, C1 and bidi overrides visible, and keeps every script", () => {
    expect(escapeControl("a\u001b[31mred\r\nb\tc\u0000d\u009be")).toBe(
      "a\\x1B[31mred\\x0D\\x0Ab\\x09c\\x00d\\x9Be",
    );
    expect(escapeControl("evil\u202Etxt.exe\u2066x\u2028")).toBe("evil\\u202Etxt.exe\\u2066x\\u2028");
    expect(escapeControl("Zoë O'Brien-Łukasik 東京 עברית 😀")).toBe("Zoë O'Brien-Łukasik 東京 עברית 😀");
  });

  it("println, printError and printTable write one line per call or row, whatever the values hold", () => {
    const { o, stdout, stderr } = capture();
    println(o, "name: Ada\n\u001b[2Jforged line");
    printError(o, "error: bad header \u001b]0;title\u0007");
    printTable(
      o,
      ["KEY", "NAME"],
      [
        ["E1\u001b[8m", "Ada\tLovelace"],
        ["E2", null],
      ],
    );
    expect(stdout()).toBe(
      ["name: Ada\\x0A\\x1B[2Jforged line", "KEY        NAME", "E1\\x1B[8m  Ada\\x09Lovelace", "E2", ""].join(
        "\n",
      ),
    );
    expect(stderr()).toBe("error: bad header \\x1B]0;title\\x07\n");
  });

  it("--json stays JSON with the same values: C0 escaped by JSON itself, C1 and bidi as \\uXXXX", () => {
    const { o, stdout } = capture();
    const value = { name: "a\u001b[31m\u009b\u202Eb", n: 1 };
    printJson(o, value);
    const text = stdout();
    // Only the line breaks of the layout remain as control characters.
    expect([...text].filter((c) => /\p{Cc}/u.test(c) && c !== "\n")).toEqual([]);
    expect(text).not.toContain("\u202E");
    expect(JSON.parse(text)).toEqual(value);
  });
});

describe("printTable", () => {
  it("aligns columns in terminal cells, with wide (CJK), combining and emoji characters", () => {
    const { o, stdout } = capture();
    printTable(
      o,
      ["NAME", "DEPT", "STATE"],
      [
        ["王芳", "研发", "active"],
        ["Zoe\u0301 Łukasik", "Sales", "active"],
        ["Ann 😀", "Ops", "terminated"],
      ],
    );
    const lines = stdout().trimEnd().split("\n");
    // The third column starts at the same terminal cell on every line.
    const columnOf = (line: string, word: string) => stringWidth(line.slice(0, line.indexOf(word)));
    const starts = lines.map((line, i) => columnOf(line, ["STATE", "active", "active", "terminated"][i]!));
    expect(new Set(starts).size).toBe(1);
    expect(lines[1]).toBe(`王芳${" ".repeat(9)}研发   active`);
  });
});
