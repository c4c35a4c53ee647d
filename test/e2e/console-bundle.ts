import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

/** Where `npm run build` writes the console. */
export const CONSOLE_DIR = fileURLToPath(new URL("../../dist/web/", import.meta.url));

/**
 * The JavaScript a browser fetches for the console's first page: the entry script index.html names
 * (the dashboard is in it) and any dashboard chunk a build may split off; in bytes and gzipped.
 */
export function firstPageScripts(dir = CONSOLE_DIR): { files: string[]; bytes: number; gzipped: number } {
  const index = path.join(dir, "index.html");
  if (!existsSync(index)) throw new Error(`the console is not built (${index}): run npm run build`);
  const html = readFileSync(index, "utf8");
  const entries = [...html.matchAll(/<script[^>]+src="\/(assets\/[^"]+\.js)"/g)].map((m) => m[1]!);
  const dashboard = readdirSync(path.join(dir, "assets")).filter((f) => /^dashboard-.*\.js$/.test(f));
  const files = [...entries, ...dashboard.map((f) => `assets/${f}`)];
  let bytes = 0;
  let gzipped = 0;
  for (const f of files) {
    const content = readFileSync(path.join(dir, f));
    bytes += content.length;
    gzipped += gzipSync(content, { level: 9 }).length;
  }
  return { files, bytes, gzipped };
}
