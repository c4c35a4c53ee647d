import type { Writable } from "node:stream";

export interface Output {
  json: boolean;
  out: Writable;
  err: Writable;
}

export function printJson(o: Output, value: unknown): void {
  o.out.write(`${JSON.stringify(value, null, 2)}\n`);
}

export function println(o: Output, line = ""): void {
  o.out.write(`${line}\n`);
}

/** A plain text table: columns padded to their widest cell, no borders, easy to grep. */
export function printTable(
  o: Output,
  headers: string[],
  rows: Array<Array<string | number | null | undefined>>,
): void {
  const cells = rows.map((r) => r.map((c) => (c === null || c === undefined ? "" : String(c))));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => r[i]?.length ?? 0)));
  const fmt = (r: string[]) =>
    r
      .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join("  ")
      .trimEnd();
  println(o, fmt(headers));
  for (const r of cells) println(o, fmt(r));
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
