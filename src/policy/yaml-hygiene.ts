import { type Document, isMap, isPair, isScalar, isSeq, type LineCounter, type Node } from "yaml";
import type { NodePath } from "./config-references.js";

// What the YAML parser would accept but silently change or mis-read, so the loader refuses it before
// anything else is checked: bytes that are not UTF-8, NUL characters, tags (`!include`,
// `!!js/function`, `!!set`) and `__proto__` keys.

/** A problem at a node of the document, or (node null) at an offset in the text. */
export interface HygieneProblem {
  readonly node: Node | null;
  /** Offset in the text, when there is no node. */
  readonly offset?: number;
  readonly path: NodePath;
  readonly message: string;
}

/** The tags of YAML's core schema: writing one only says what the value already is. */
const CORE_TAGS = new Set(
  ["str", "int", "float", "bool", "null", "map", "seq"].map((t) => `tag:yaml.org,2002:${t}`),
);

/**
 * The file's bytes as text, or where the first byte that is not UTF-8 sits (1-based line and column,
 * counted in characters before it). A UTF-8 byte-order mark is dropped.
 */
export function decodeUtf8(
  bytes: Uint8Array,
): { text: string } | { line: number; column: number; byte: number } {
  try {
    return { text: new TextDecoder("utf-8", { fatal: true }).decode(bytes) };
  } catch {
    const offset = firstInvalidUtf8(bytes);
    const before = new TextDecoder("utf-8").decode(bytes.subarray(0, offset));
    const lines = before.split("\n");
    return { line: lines.length, column: [...(lines.at(-1) ?? "")].length + 1, byte: bytes[offset] ?? 0 };
  }
}

/** Offset of the first byte that does not start or continue a valid UTF-8 sequence (RFC 3629). */
function firstInvalidUtf8(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i] as number;
    let extra: number;
    let min: number;
    if (b < 0x80) {
      i++;
      continue;
    } else if (b >= 0xc2 && b <= 0xdf) [extra, min] = [1, 0x80];
    else if (b >= 0xe0 && b <= 0xef) [extra, min] = [2, 0x800];
    else if (b >= 0xf0 && b <= 0xf4) [extra, min] = [3, 0x10000];
    else return i;
    let code = b & (0x3f >> extra);
    for (let k = 1; k <= extra; k++) {
      const c = bytes[i + k];
      if (c === undefined || (c & 0xc0) !== 0x80) return i;
      code = (code << 6) | (c & 0x3f);
    }
    if (code < min || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) return i;
    i += extra + 1;
  }
  return bytes.length;
}

/** The first NUL character written in the text itself (not as an escape), if any. */
export function findNul(text: string): HygieneProblem | undefined {
  const offset = text.indexOf("\u0000");
  return offset === -1
    ? undefined
    : { node: null, offset, path: [], message: "the file contains a NUL character; tenure.yaml is text" };
}

/**
 * Every tag other than YAML's core ones, every `__proto__` key and every key or value holding a NUL
 * (written as an escape such as `"\0"`), and every warning of the parser (a core tag that does not fit
 * its value, e.g. `!!int abc`), in document order. Aliases are not followed: their anchor is checked
 * where it is written.
 */
export function checkDocument(doc: Document): HygieneProblem[] {
  const problems: HygieneProblem[] = [];
  const visit = (node: unknown, path: NodePath): void => {
    if (!isMap(node) && !isSeq(node) && !isScalar(node)) return;
    if (node.tag !== undefined && !CORE_TAGS.has(node.tag)) {
      problems.push({
        node,
        path,
        message:
          `tag ${shortTag(node.tag)} is not supported: tenure.yaml holds plain values ` +
          "(no !include, !!js/…, !!binary, !!set); remove the tag",
      });
    }
    if (isMap(node)) {
      for (const pair of node.items) {
        if (!isPair(pair)) continue;
        const keyNode = pair.key as Node | null;
        const key = isScalar(keyNode) ? String(keyNode.value) : String(keyNode);
        const here = [...path, key];
        if (isScalar(keyNode) && keyNode.tag !== undefined && !CORE_TAGS.has(keyNode.tag)) {
          problems.push({
            node: keyNode,
            path: here,
            message: `tag ${shortTag(keyNode.tag)} is not supported`,
          });
        }
        if (key === "__proto__") {
          problems.push({
            node: keyNode,
            path: here,
            message: "a key named __proto__ is not allowed: it would change the object it sits in",
          });
          continue;
        }
        if (key.includes("\u0000")) {
          problems.push({ node: keyNode, path: here, message: "a key must not contain a NUL character" });
        }
        visit(pair.value, here);
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, index) => {
        visit(item, [...path, index]);
      });
    } else if (typeof node.value === "string" && node.value.includes("\u0000")) {
      problems.push({ node, path, message: "a value must not contain a NUL character" });
    }
  };
  visit(doc.contents, []);
  for (const warning of doc.warnings) {
    // A tag that is not a core one is already reported above, at its node.
    const tag = /Unresolved tag: (\S+)/.exec(warning.message)?.[1];
    if (tag !== undefined && !CORE_TAGS.has(tag)) continue;
    const firstLine = warning.message.split("\n")[0]?.replace(/ at line \d+, column \d+:?$/, "") ?? "";
    problems.push({
      node: null,
      offset: warning.pos[0],
      path: [],
      message:
        tag === undefined
          ? `${firstLine}: the file would be read differently than written`
          : `tag ${shortTag(tag)} does not fit its value: remove the tag or correct the value`,
    });
  }
  return problems;
}

function shortTag(tag: string): string {
  return tag.startsWith("tag:yaml.org,2002:") ? `!!${tag.slice("tag:yaml.org,2002:".length)}` : tag;
}

/** 1-based line and column of a problem: its node's start, or its offset. */
export function positionOfProblem(
  problem: HygieneProblem,
  lines: LineCounter,
  positionOf: (node: Node | null, lines: LineCounter) => { line: number; column: number },
): { line: number; column: number } {
  if (problem.node !== null || problem.offset === undefined) return positionOf(problem.node, lines);
  const { line, col } = lines.linePos(problem.offset);
  return { line, column: col };
}
