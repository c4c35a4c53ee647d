import os from "node:os";
import path from "node:path";
import type { Command } from "commander";
import { PLAN_HASH_PATTERN } from "../engine/mass-change.js";
import { loadConfig } from "../policy/config-loader.js";
import type { TenureConfig } from "../policy/config-types.js";
import { resolveNow } from "../shared/clock.js";
import { UsageError } from "../shared/errors.js";
import { openStore, type Store } from "../store/database.js";
import { explainStoreError } from "../store/store-errors.js";
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

/**
 * Opens the configured store for a command: it must already hold Tenure's schema (only `tenure init`
 * and `tenure demo` create one), else NotATenureStoreError names it and nothing is written.
 */
export function openConfiguredStore(config: TenureConfig): Promise<Store> {
  return openStore(config.database, { baseDir: config.baseDir, create: false });
}

/**
 * Runs a command on the configured store, closed afterwards. A failure of the store itself (busy past
 * the timeout, damaged, full) becomes one line naming it, and who holds the sync lock when busy.
 */
export async function withStore<T>(
  opts: GlobalOptions,
  fn: (ctx: { config: TenureConfig; store: Store }) => Promise<T>,
): Promise<T> {
  const config = await loadConfig(configPath(opts));
  const store = await openConfiguredStore(config);
  try {
    return await fn({ config, store });
  } catch (err) {
    throw await explainStoreError(err, store);
  } finally {
    await store.close();
  }
}

/**
 * Parses `--confirm-mass-change PLAN_HASH`: the 64-hex-digit hash a mass-change stop printed.
 * @throws UsageError (exit 2) for anything else.
 */
export function parsePlanHash(value: string): string {
  const hash = value.trim().toLowerCase();
  if (!PLAN_HASH_PATTERN.test(hash)) {
    throw new UsageError(
      `--confirm-mass-change: "${value}" is not a plan hash (64 hex digits); use the hash the mass-change ` +
        "stop printed (or `tenure sync --dry-run --json` shows as massChange.planHash)",
    );
  }
  return hash;
}
