import { type Document, isAlias, isMap, isPair, isScalar, isSeq, type LineCounter, type Node } from "yaml";

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
