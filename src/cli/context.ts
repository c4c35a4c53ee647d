import os from "node:os";
import path from "node:path";
import type { Command } from "commander";
import { loadConfig } from "../policy/config-loader.js";
import type { TenureConfig } from "../policy/config-types.js";
import { resolveNow } from "../shared/clock.js";
import { openStore, type Store } from "../store/database.js";
import type { Output } from "./output.js";

export interface GlobalOptions {
  config?: string;
  json?: boolean;
}

export function globalOptions(cmd: Command): GlobalOptions {
  return cmd.optsWithGlobals() as GlobalOptions;
}

export function configPath(opts: GlobalOptions, env: NodeJS.ProcessEnv = process.env): string {
  return path.resolve(opts.config ?? env.TENURE_CONFIG ?? "tenure.yaml");
}

export function outputFor(opts: GlobalOptions): Output {
  return { json: opts.json === true, out: process.stdout, err: process.stderr };
}

/** The clock for this process: TENURE_NOW when set (with a warning on stderr), else the wall clock. */
export function now(): Date {
  return resolveNow(process.env, (iso) =>
    process.stderr.write(`warning: the clock is pinned by TENURE_NOW to ${iso}\n`),
  );
}

/** Who is acting, for the audit: the OS user running the CLI. */
export function cliActor(): string {
  try {
    return `cli:${os.userInfo().username}`;
  } catch {
    return "cli:unknown";
  }
}

export async function withStore<T>(
  opts: GlobalOptions,
  fn: (ctx: { config: TenureConfig; store: Store }) => Promise<T>,
): Promise<T> {
  const config = await loadConfig(configPath(opts));
  const store = await openStore(config.database, { baseDir: config.baseDir });
  try {
    return await fn({ config, store });
  } finally {
    await store.close();
  }
}
