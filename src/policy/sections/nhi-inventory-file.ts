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
export function readInventoryFile<T>(file: string, entrySchema: z.ZodType<T>): InventoryFileRead<T> {
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
