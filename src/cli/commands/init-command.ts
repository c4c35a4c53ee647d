import { copyFile, mkdir, stat } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Command } from "commander";
import { loadConfig } from "../../policy/config-loader.js";
import { InvalidInputError } from "../../shared/errors.js";
import { openStore } from "../../store/database.js";
import { configPath, globalOptions, outputFor } from "../context.js";
import { tenureCommand } from "../invocation.js";
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

/**
 * Writes a commented tenure.yaml and a sample HR CSV into `dir`; never overwrites without `force`.
 * When `dir` already has a tenure.yaml (and no `force`), writes nothing and returns no files: the
 * existing configuration is kept, and `init` only creates its database.
 */
export async function initWorkspace(dir: string, force = false): Promise<string[]> {
  const target = path.resolve(dir);
  await mkdir(target, { recursive: true });
  if (!force && (await exists(path.join(target, "tenure.yaml")))) return [];
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

/**
 * Gives the configured store Tenure's schema (or migrates it to the latest version): `init` is, with
 * `demo`, the only command that may turn a new file or an empty database into Tenure's store. A
 * database holding another application's tables is refused, naming it, and left as it was.
 */
export async function initStore(configFile: string): Promise<string> {
  const config = await loadConfig(configFile);
  const store = await openStore(config.database, { baseDir: config.baseDir, create: true });
  await store.close();
  return store.describe;
}

export function registerInit(program: Command): void {
  program
    .command("init [dir]")
    .description(
      "write a commented example tenure.yaml and a sample HR CSV (unless a tenure.yaml is there), then create the database it names",
    )
    .option("--force", "overwrite existing files")
    .action(async (dir: string | undefined, opts: { force?: boolean }, cmd: Command) => {
      const g = globalOptions(cmd);
      const o = outputFor(g);
      // `tenure --config FILE init` on an existing FILE (or TENURE_CONFIG): only its database.
      const named = dir === undefined && (g.config ?? process.env.TENURE_CONFIG) !== undefined;
      const keep = named && (await exists(configPath(g)));
      const written = keep ? [] : await initWorkspace(dir ?? ".", opts.force === true);
      const configFile = keep ? configPath(g) : path.resolve(dir ?? ".", "tenure.yaml");
      const database = await initStore(configFile);
      if (o.json) {
        printJson(o, { written, config: configFile, database });
        return;
      }
      if (written.length === 0)
        println(o, `kept ${configFile} (it already exists; --force overwrites it with the example)`);
      for (const w of written) println(o, `wrote ${w}`);
      println(o, `database ${database} holds Tenure's schema`);
      const where = path.resolve(dir ?? ".");
      println(o, "");
      println(o, "next:");
      println(o, `  cd ${where}`);
      const tenure = tenureCommand();
      for (const next of ["validate", "sync --dry-run", "sync", "identities list"])
        println(o, `  ${tenure} ${next}`);
    });
}
