import {
  type Document,
  isAlias,
  isMap,
  isPair,
  isScalar,
  isSeq,
  type LineCounter,
  type Node,
  type Scalar,
} from "yaml";

/** Where a key path lands in a YAML document. */
export interface Located {
  /** True when every segment of the path exists. */
  readonly found: boolean;
  /** The value at the path when found, else the deepest node the path reached (the parent map). */
  readonly node: Node | null;
  /** The key node of the last segment, when found and that segment is a map key. */
  readonly keyNode: Node | null;
}

/**
 * Follows a path of map keys and list positions through the document, through aliases.
 * Map keys are compared as strings, as they are once the document becomes plain data.
 */
export function locate(doc: Document, path: readonly PropertyKey[]): Located {
  let node: Node | null = (doc.contents as Node | null) ?? null;
  let keyNode: Node | null = null;
  for (const segment of path) {
    const current = deref(doc, node);
    let next: Node | null | undefined;
    keyNode = null;
    if (isMap(current)) {
      const pair = current.items.find(
        (p) => isPair(p) && String(isScalar(p.key) ? p.key.value : p.key) === String(segment),
      );
      if (pair !== undefined) {
        keyNode = (pair.key as Node | null) ?? null;
        // `key:` with nothing after it has no value node worth pointing at; the key is the place.
        next = (pair.value as Node | null) ?? keyNode;
      }
    } else if (isSeq(current) && typeof segment === "number") {
      next = (current.items[segment] as Node | undefined) ?? undefined;
    }
    if (next === undefined || next === null) return { found: false, node: current ?? node, keyNode: null };
    node = next;
  }
  return { found: true, node, keyNode };
}

function deref(doc: Document, node: Node | null): Node | null {
  if (isAlias(node)) return (node.resolve(doc) as Node | undefined) ?? node;
  return node;
}

/** 1-based line and column where `node` starts; the document start when there is no node. */
export function positionOf(node: Node | null, lines: LineCounter): { line: number; column: number } {
  const offset = node?.range?.[0];
  if (offset === undefined) return { line: 1, column: 1 };
  const { line, col } = lines.linePos(offset);
  return { line, column: col };
}

/** The value a path leads to, through aliases; used to describe what was found. */
export function derefNode(doc: Document, node: Node | null): Node | null {
  return deref(doc, node);
}

/**
 * The offset in the file of character `index` of a string scalar's value, so a problem found inside
 * a value (a CEL token) can be pointed at exactly. Works for plain, quoted, literal and folded
 * scalars on one line or several: the value is matched against the source text in order, skipping
 * what YAML removed (quotes, indentation, escapes) and letting any whitespace stand for a folded line
 * break. An index at or past the end maps to just after the last character. Returns undefined when
 * the value cannot be matched to its text, for example when a double-quoted escape such as `\u00e9`
 * changed it; the caller then points at the start of the value.
 */
export function sourceOffsetOf(node: Scalar, source: string, index: number): number | undefined {
  const range = node.range;
  const value = node.value;
  if (range === undefined || range === null || typeof value !== "string") return undefined;
  let at = range[0];
  const end = range[1];
  if (node.type === "BLOCK_LITERAL" || node.type === "BLOCK_FOLDED") {
    // The header line (`|`, `>-`, a comment) holds none of the value.
    const newline = source.indexOf("\n", at);
    if (newline === -1 || newline >= end) return undefined;
    at = newline + 1;
  }
  if (node.type === "QUOTE_DOUBLE" && source.slice(at, end).includes("\\")) return undefined;
  if (value.length === 0) return at;
  const target = Math.min(index, value.length - 1);
  for (let i = 0; i <= target; i++) {
    const ch = value[i] as string;
    while (at < end && !sameCharacter(source[at] as string, ch)) at++;
    if (at >= end) return undefined;
    if (i < target) at++;
  }
  return index >= value.length ? at + 1 : at;
}

function sameCharacter(written: string, read: string): boolean {
  return written === read || (isWhitespace(written) && isWhitespace(read));
}

function isWhitespace(ch: string): boolean {
  return ch === " " || ch === "\t" || ch === "\n" || ch === "\r";
}
