import { readFileSync } from "node:fs";
import { LineCounter, parseDocument } from "yaml";
import type { z } from "zod";
import { UNKNOWN_KEY } from "../../config/schema-helpers.js";
import type { NodePath } from "../../config/section-types.js";
import type { SourceLocation } from "../../domain/access-types.js";
import { configErrorMap } from "../config-issues.js";
import { locate, positionOf } from "../yaml-locations.js";

/** The most bytes an inventory file may hold: a list of NHIs, not a data dump. */
const MAX_INVENTORY_BYTES = 32 * 1024 * 1024;

/** An inventory file read and checked against the entry schema, every problem at its file:line. */
export type InventoryFileRead<T> =
  | {
      ok: true;
      entries: T[];
      /** Where entry `index` (or a key path inside it) is written in the file. */
      locate(path: NodePath, target?: "key" | "value"): SourceLocation;
    }
  | { ok: false; problems: { location: SourceLocation | null; path: NodePath; message: string }[] };

/**
 * Reads `nhi.inventoryFiles` entry `file` (absolute): a YAML or JSON list of the same entries as
 * `nhi.inventory`. Problems carry their position in THAT file; `location: null` means the file itself
 * (missing, unreadable), which the caller reports where tenure.yaml names it.
 */
export function readInventoryFile<T>(
  file: string,
  entrySchema: z.ZodType<T>,
  fastEntry?: (raw: unknown) => T | undefined,
): InventoryFileRead<T> {
  let text: string;
  try {
    const bytes = readFileSync(file);
    if (bytes.length > MAX_INVENTORY_BYTES) {
      return fileProblem(`inventory file ${file} is larger than ${MAX_INVENTORY_BYTES / 1024 / 1024} MiB`);
    }
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return fileProblem(`inventory file not found: ${file}`);
    if (error instanceof TypeError) return fileProblem(`inventory file ${file} is not UTF-8 text`);
    return fileProblem(`cannot read inventory file ${file}: ${code ?? String(error)}`);
  }
  if (file.toLowerCase().endsWith(".json")) {
    const fast = readJsonFast(file, text, entrySchema, fastEntry);
    if (fast !== undefined) return fast;
  }
  return readPositioned(file, text, entrySchema);
}

/**
 * A `.json` file the fast way: JSON.parse and one validation of the whole list — the YAML parser's
 * document of every node, and a schema run per entry, made a file of 100,000 NHIs take 20 s to load.
 * Entries are checked by `fastEntry` where given (the same verdict and output as the schema, without
 * zod), the schema for any it leaves undecided. Entries are placed by a scan of the text for where each
 * top-level element starts. Undefined when anything is wrong (not JSON, not a list, an invalid entry): the
 * position-aware read then finds where.
 */
function readJsonFast<T>(
  file: string,
  text: string,
  entrySchema: z.ZodType<T>,
  fastEntry: ((raw: unknown) => T | undefined) | undefined,
): InventoryFileRead<T> | undefined {
  let data: unknown;
  try {
    data = text.trim() === "" ? [] : JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!Array.isArray(data)) return undefined;
  const entries = checkedEntries(data, entrySchema, fastEntry);
  if (entries === undefined) return undefined;
  const starts = elementStarts(text, data.length);
  // An object that repeats a key: JSON.parse keeps the last silently, so the parsed objects hold fewer
  // keys than the text writes; the YAML parser reports it at its line, as it always did. (Counting beats
  // a set of each object's keys by a tenth of the load of 100,000 entries.)
  if (starts === undefined || keysOf(data) !== starts.keys) return undefined;
  let positioned: ((path: NodePath, target?: "key" | "value") => SourceLocation) | undefined;
  return {
    ok: true,
    entries,
    locate(path, target = "value") {
      if (path.length === 1 && typeof path[0] === "number" && path[0] < data.length) {
        return { file, line: starts.lines[path[0]]!, column: starts.columns[path[0]]! };
      }
      // A key inside an entry (a problem the section finds, such as an unknown system): rare, so the
      // document with positions is built then, once.
      positioned ??= positionedLocator(file, text);
      return positioned(path, target);
    },
  };
}

/** `list` checked: by `fastEntry` each where it decides, else by the schema; undefined when one is invalid. */
function checkedEntries<T>(
  list: unknown[],
  entrySchema: z.ZodType<T>,
  fastEntry: ((raw: unknown) => T | undefined) | undefined,
): T[] | undefined {
  const out: T[] = new Array(list.length);
  for (let i = 0; i < list.length; i++) {
    const fast = fastEntry?.(list[i]);
    if (fast !== undefined) {
      out[i] = fast;
      continue;
    }
    const parsed = entrySchema.safeParse(list[i], { error: configErrorMap });
    if (!parsed.success) return undefined;
    out[i] = parsed.data;
  }
  return out;
}

/**
 * Where each of the `count` elements of the top-level JSON array in `text` starts (1-based line and
 * column, in UTF-16 units as the YAML parser counts them), and how many object keys the text writes;
 * undefined when the text does not hold that many elements (it always does for text JSON.parse took as a
 * list).
 */
function elementStarts(
  text: string,
  count: number,
): { lines: Int32Array; columns: Int32Array; keys: number } | undefined {
  const lines = new Int32Array(count);
  const columns = new Int32Array(count);
  let line = 1;
  let lineStart = 0;
  let depth = 0;
  let found = 0;
  // True at depth 1 after '[' or ',' until the element's first character.
  let expecting = false;
  let keys = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 10) {
      line++;
      lineStart = i + 1;
      continue;
    }
    if (c === 32 || c === 9 || c === 13) continue;
    if (expecting && c !== 93 /* ] */) {
      if (found === count) return undefined;
      lines[found] = line;
      columns[found] = i - lineStart + 1;
      found++;
      expecting = false;
    }
    if (c === 34 /* " */) {
      // Skip the string: JSON strings hold no raw line breaks.
      for (i++; i < text.length; i++) {
        const d = text.charCodeAt(i);
        if (d === 92 /* \ */) i++;
        else if (d === 34) break;
      }
      if (isKey(text, i + 1)) keys++;
    } else if (c === 91 /* [ */ || c === 123 /* { */) {
      depth++;
      if (depth === 1) expecting = true;
    } else if (c === 93 || c === 125) {
      depth--;
    } else if (c === 44 /* , */ && depth === 1) {
      expecting = true;
    }
  }
  return found === count ? { lines, columns, keys } : undefined;
}

/** How many keys the objects in `value` hold, nested ones included. */
function keysOf(value: unknown): number {
  if (typeof value !== "object" || value === null) return 0;
  let n = 0;
  if (Array.isArray(value)) {
    for (const item of value) n += keysOf(item);
    return n;
  }
  for (const key in value) n += 1 + keysOf((value as Record<string, unknown>)[key]);
  return n;
}

/** Whether the string that ended before `from` is an object key: the next non-blank character is ':'. */
function isKey(text: string, from: number): boolean {
  for (let i = from; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c !== 32 && c !== 9 && c !== 10 && c !== 13) return c === 58 /* : */;
  }
  return false;
}

/** Locates a key path in `text` parsed as a YAML document with positions. */
function positionedLocator(
  file: string,
  text: string,
): (path: NodePath, target?: "key" | "value") => SourceLocation {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  return (path, target = "value") => {
    const found = locate(doc, path);
    const node = target === "key" ? (found.keyNode ?? found.node) : found.node;
    return { file, ...positionOf(node, lines) };
  };
}

/** The file through the YAML parser, every node with its position: YAML files, and JSON with a problem. */
function readPositioned<T>(file: string, text: string, entrySchema: z.ZodType<T>): InventoryFileRead<T> {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  const at = (offset: number | undefined): SourceLocation => {
    if (offset === undefined) return { file, line: 1, column: 1 };
    const { line, col } = lines.linePos(offset);
    return { file, line, column: col };
  };
  if (doc.errors.length > 0) {
    return {
      ok: false,
      problems: doc.errors.map((e) => ({
        location: at(e.pos[0]),
        path: [],
        message: `YAML syntax error: ${e.message}`,
      })),
    };
  }
  let data: unknown;
  try {
    data = doc.contents === null ? [] : doc.toJS({ maxAliasCount: 100 });
  } catch (error) {
    return { ok: false, problems: [{ location: at(0), path: [], message: (error as Error).message }] };
  }
  const place = (path: NodePath, target: "key" | "value" = "value"): SourceLocation => {
    const found = locate(doc, path);
    const node = target === "key" ? (found.keyNode ?? found.node) : found.node;
    return { file, ...positionOf(node, lines) };
  };
  if (!Array.isArray(data)) {
    return {
      ok: false,
      problems: [{ location: place([]), path: [], message: "expected a list of non-human identities" }],
    };
  }
  const entries: T[] = [];
  const problems: { location: SourceLocation; path: NodePath; message: string }[] = [];
  data.forEach((raw, index) => {
    const parsed = entrySchema.safeParse(raw, { error: configErrorMap });
    if (parsed.success) {
      entries.push(parsed.data);
      return;
    }
    for (const issue of parsed.error.issues) {
      const path: NodePath = [index, ...issue.path.map((s) => (typeof s === "symbol" ? String(s) : s))];
      const unknownKey = issue.code === "custom" && issue.params?.tenure === UNKNOWN_KEY;
      problems.push({ location: place(path, unknownKey ? "key" : "value"), path, message: issue.message });
    }
  });
  if (problems.length > 0) return { ok: false, problems };
  return { ok: true, entries, locate: place };
}

function fileProblem(message: string): InventoryFileRead<never> {
  return { ok: false, problems: [{ location: null, path: [], message }] };
}
