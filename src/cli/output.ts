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
