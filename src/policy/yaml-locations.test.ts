import { describe, expect, it } from "vitest";
import { isScalar, parseDocument, type Scalar } from "yaml";
import { sourceOffsetOf } from "./yaml-locations.js";

/** The scalar at key `when` of a one-key document, and the text it came from. */
function scalarOf(text: string): { node: Scalar; text: string } {
  const doc = parseDocument(text);
  const node = doc.get("when", true);
  if (!isScalar(node)) throw new Error("expected a scalar");
  return { node, text };
}

/** The character of the file that `sourceOffsetOf` points at for value index `index`. */
function charAt(text: string, index: number): string | undefined {
  const { node } = scalarOf(text);
  const offset = sourceOffsetOf(node, text, index);
  return offset === undefined ? undefined : text[offset];
}

describe("sourceOffsetOf", () => {
  it("maps plain, single- and double-quoted values on one line", () => {
    for (const text of [
      "when: title == 'x' && dept == 'y'\n",
      "when: \"title == 'x' && dept == 'y'\"\n",
      "when: 'title == ''x'' && dept == ''y'''\n",
    ]) {
      const { node } = scalarOf(text);
      const value = String(node.value);
      const index = value.indexOf("dept");
      expect(text.slice(sourceOffsetOf(node, text, index)).startsWith("dept")).toBe(true);
    }
  });

  it("maps literal and folded block scalars line by line", () => {
    const literal = "when: |\n  title == 'x' &&\n    dept == 'y'\n";
    const { node } = scalarOf(literal);
    const offset = sourceOffsetOf(node, literal, String(node.value).indexOf("dept"));
    expect(literal.slice(offset)).toMatch(/^dept/);

    const folded = "when: >-\n  title == 'x' &&\n  dept == 'y'\n";
    const f = scalarOf(folded);
    expect(folded.slice(sourceOffsetOf(f.node, folded, String(f.node.value).indexOf("dept")))).toMatch(
      /^dept/,
    );
  });

  it("maps multi-line plain scalars", () => {
    const text = "when: title == 'x' &&\n  dept == 'y'\n";
    const { node } = scalarOf(text);
    expect(text.slice(sourceOffsetOf(node, text, String(node.value).indexOf("dept")))).toMatch(/^dept/);
  });

  it("maps an index at the end to just after the last character", () => {
    const text = "when: a &&\nnext: 1\n";
    const { node } = scalarOf(text);
    expect(sourceOffsetOf(node, text, 4)).toBe(text.indexOf("&&") + 2);
  });

  it("gives up on double-quoted escapes rather than guess", () => {
    expect(charAt('when: "title == \\"x\\""\n', 3)).toBeUndefined();
  });
});
