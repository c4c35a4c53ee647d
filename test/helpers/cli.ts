import { spawn } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { fileURLToPath } from "node:url";

const SRC = fileURLToPath(new URL("../../src", import.meta.url));
const MAIN = fileURLToPath(new URL("../../src/cli/main.ts", import.meta.url));
const BUILT = fileURLToPath(new URL("../../dist/cli/main.js", import.meta.url));
// Resolved here, not from the child's cwd (a temp folder without node_modules).
const TSX = import.meta.resolve("tsx");

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * The entry point to run: the build (`npm ci` and `npm run build` write dist/) when it is newer than
 * every source file it is built from, else the source through tsx. Loading the CLI through tsx took
 * twice as long as the build (4.1 s against 2.3 s a start at load average 7), and the CLI tests start it
 * a few hundred times; a stale build is never run, so an edit to src/ is always what is tested.
 */
export const CLI_ENTRY: readonly string[] = buildIsFresh() ? [BUILT] : ["--import", TSX, MAIN];

function buildIsFresh(): boolean {
  let built: number;
  try {
    built = statSync(BUILT).mtimeMs;
  } catch {
    return false;
  }
  for (const entry of readdirSync(SRC, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || entry.name.endsWith(".test.ts")) continue;
    if (statSync(`${entry.parentPath}/${entry.name}`).mtimeMs > built) return false;
  }
  return true;
}

/** Runs the real `tenure` entry point in a child process, as a user would. */
export function runCli(
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...CLI_ENTRY, ...args], {
      cwd: options.cwd,
      env: { ...process.env, ...options.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => {
      stdout += d;
    });
    child.stderr.on("data", (d) => {
      stderr += d;
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}
