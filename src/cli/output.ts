import type { Writable } from "node:stream";
import stringWidth from "string-width";

export interface Output {
  json: boolean;
  out: Writable;
  err: Writable;
}

export function printJson(o: Output, value: unknown): void {
  // JSON.stringify escapes C0 only; the rest of UNSAFE can stand only inside strings, as \uXXXX.
  o.out.write(`${JSON.stringify(value, null, 2).replace(UNSAFE_IN_JSON, unicodeEscape)}\n`);
}

/**
 * Characters that must not reach a terminal as they are: control characters (Unicode Cc — ESC starts
 * sequences that recolour, move the cursor or retitle the window; CR overwrites the line; LF and TAB
 * forge lines and columns), the line and paragraph separators, and the bidirectional embeddings,
 * overrides and isolates, which reorder what is shown.
 */
const UNSAFE = /[\p{Cc}\u2028\u2029\u202A-\u202E\u2066-\u2069]/gu;
const UNSAFE_IN_JSON = /[\u007F-\u009F\u2028\u2029\u202A-\u202E\u2066-\u2069]/gu;

const unicodeEscape = (c: string): string =>
  `\\u${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, "0")}`;

/**
 * Text made safe for a terminal: each character of {@link UNSAFE} becomes a visible escape, `\x1B`
 * for U+0000–U+00FF and `\u202E` above; everything else — any script, emoji — is kept. The one
 * escaping function of every text printer (println, printTable, printError); `--json` output is JSON,
 * whose own escaping already makes it safe.
 */
export function escapeControl(text: string): string {
  return text.replace(UNSAFE, (c) => {
    const code = c.charCodeAt(0);
    const hex = code.toString(16).toUpperCase();
    return code <= 0xff ? `\\x${hex.padStart(2, "0")}` : `\\u${hex.padStart(4, "0")}`;
  });
}

/** One line of text output, its content escaped (a value cannot start a second line or a sequence). */
export function println(o: Output, line = ""): void {
  o.out.write(`${escapeControl(line)}\n`);
}

/** One line on the error stream, escaped like println. */
export function printError(o: Pick<Output, "err">, line: string): void {
  o.err.write(`${escapeControl(line)}\n`);
}

/** A plain text table: columns padded to their widest cell (in terminal cells), no borders, easy to grep. */
export function printTable(
  o: Output,
  headers: string[],
  rows: Array<Array<string | number | null | undefined>>,
): void {
  const cells = rows.map((r) =>
    r.map((c) => (c === null || c === undefined ? "" : escapeControl(String(c)))),
  );
  // Columns are measured in terminal cells, not code units: a CJK name takes two cells a character,
  // a combining accent none, so names from every script line up.
  const widths = headers.map((h, i) =>
    Math.max(stringWidth(h), ...cells.map((r) => stringWidth(r[i] ?? ""))),
  );
  const pad = (c: string, width: number) => c + " ".repeat(Math.max(0, width - stringWidth(c)));
  const fmt = (r: string[]) =>
    r
      .map((c, i) => (i === r.length - 1 ? c : pad(c, widths[i] ?? 0)))
      .join("  ")
      .trimEnd();
  // Cells are escaped already, so widths count what is shown; the lines are written as they are.
  o.out.write(`${fmt(headers.map(escapeControl))}\n`);
  for (const r of cells) o.out.write(`${fmt(r)}\n`);
}

/**
 * What the CLI does when its output goes nowhere. A reader that closed the pipe early
 * (`tenure audit log | head -1`, EPIPE) is normal: the rest of the output is dropped silently and the
 * command finishes with its own exit code — no stack trace. Any other write failure (a full disk,
 * ENOSPC) is said once on stderr and makes the exit code 1. Installed once, by main.ts.
 */
export function handleOutputErrors(
  out: NodeJS.WriteStream = process.stdout,
  err: NodeJS.WriteStream = process.stderr,
): void {
  let said = false;
  out.on("error", (e: NodeJS.ErrnoException) => {
    if (e.code === "EPIPE" || said) return;
    said = true;
    process.exitCode = 1;
    err.write(`error: cannot write the output: ${e.message}\n`);
  });
  // Nowhere to say anything when stderr itself is closed: drop it.
  err.on("error", () => {});
}
