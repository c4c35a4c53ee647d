import { type ChildProcess, spawn } from "node:child_process";
import { CLI_ENTRY } from "./cli.js";

/** One line of a process's JSON log. */
export interface LogLine {
  msg: string;
  level: number;
  [key: string]: unknown;
}

/** A `tenure worker` (or `serve`) child process, its JSON log lines parsed as they come. */
export interface TenureProcess {
  child: ChildProcess;
  pid: number;
  lines: LogLine[];
  stderr(): string;
  /** Resolves with how it ended. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  alive(): boolean;
}

/**
 * Starts `tenure --config FILE worker --log-format json ARGS` through tsx, as a user would, and resolves
 * once it says it started. The wall clock: TENURE_NOW is cleared.
 */
export function startWorker(configFile: string, args: string[] = []): Promise<TenureProcess> {
  const child = spawn(
    process.execPath,
    [...CLI_ENTRY, "--config", configFile, "worker", "--log-format", "json", ...args],
    { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, TENURE_NOW: "" } },
  );
  const lines: LogLine[] = [];
  let stderr = "";
  let partial = "";
  child.stdout?.on("data", (d: Buffer) => {
    partial += d.toString();
    const parts = partial.split("\n");
    partial = parts.pop() ?? "";
    for (const part of parts) {
      try {
        lines.push(JSON.parse(part) as LogLine);
      } catch {
        // Not a log line (nothing else is written to stdout).
      }
    }
  });
  child.stderr?.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on("exit", (code, signal) => resolve({ code, signal })),
  );
  const proc: TenureProcess = {
    child,
    pid: child.pid!,
    lines,
    stderr: () => stderr,
    exited,
    alive: () => child.exitCode === null && child.signalCode === null,
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the worker did not start: ${stderr}`)), 30_000);
    child.stderr?.on("data", () => {
      if (/tenure worker \d+ started/.test(stderr)) {
        clearTimeout(timer);
        resolve(proc);
      }
    });
    void exited.then(({ code }) => {
      clearTimeout(timer);
      reject(new Error(`the worker exited with ${code}: ${stderr}`));
    });
  });
}

/** Polls `check` every 25 ms until it is true (errors count as false), or fails after `ms`. */
export async function until(
  what: string,
  check: () => boolean | Promise<boolean>,
  ms = 20_000,
): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    try {
      if (await check()) return;
    } catch {
      // The database may be away for a moment: look again.
    }
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
