import { copyFile, mkdir, stat } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Command } from "commander";
import { InvalidInputError } from "../../shared/errors.js";
import { globalOptions, outputFor } from "../context.js";
import { printJson, println } from "../output.js";

// The example shipped with the package is the one template: `init` copies it, and its tests keep it valid.
const TEMPLATE_DIR = fileURLToPath(new URL("../../../examples/basic/", import.meta.url));
const FILES = ["tenure.yaml", "hr.csv"];

async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}

/** Writes a commented tenure.yaml and a sample HR CSV into `dir`; never overwrites without `force`. */
export async function initWorkspace(dir: string, force = false): Promise<string[]> {
  const target = path.resolve(dir);
  await mkdir(target, { recursive: true });
  const written: string[] = [];
  for (const f of FILES) {
    const dest = path.join(target, f);
    if (!force && (await exists(dest))) {
      throw new InvalidInputError(`${dest} already exists; nothing was written (use --force to overwrite)`);
    }
  }
  for (const f of FILES) {
    const dest = path.join(target, f);
    await copyFile(path.join(TEMPLATE_DIR, f), dest);
    written.push(dest);
  }
  return written;
}

export function registerInit(program: Command): void {
  program
    .command("init [dir]")
    .description("write a commented example tenure.yaml and a sample HR CSV that validate and sync cleanly")
    .option("--force", "overwrite existing files")
    .action(async (dir: string | undefined, opts: { force?: boolean }, cmd: Command) => {
      const o = outputFor(globalOptions(cmd));
      const written = await initWorkspace(dir ?? ".", opts.force === true);
      if (o.json) {
        printJson(o, { written });
        return;
      }
      for (const w of written) println(o, `wrote ${w}`);
      const where = path.resolve(dir ?? ".");
      println(o, "");
      println(o, "next:");
      println(o, `  cd ${where}`);
      println(o, "  tenure validate");
      println(o, "  tenure sync --dry-run");
      println(o, "  tenure sync");
      println(o, "  tenure identities list");
    });
}
