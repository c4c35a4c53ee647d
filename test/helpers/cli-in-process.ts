import { run } from "../../src/cli/program.js";
import type { CliResult } from "./cli.js";

type Write = typeof process.stdout.write;

let queue: Promise<unknown> = Promise.resolve();

/**
 * Runs `tenure ARGS` in this process through the CLI's entry function (`run`, what main.ts calls), as
 * {@link runCli} does in a child: in `cwd`, with `env` added to the environment, stdout and stderr
 * captured, the exit code returned. Saves a Node start and a TypeScript load (seconds on a loaded
 * machine) a command. Calls run one at a time (they share the process's cwd, env and streams); keep a
 * real `runCli` where the test is about the process itself (its streams, a second process, signals).
 * Needs vitest's `forks` pool (process.chdir is refused in worker threads).
 */
export function runCliInProcess(
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<CliResult> {
  const next = queue.then(() => runNow(args, options));
  queue = next.catch(() => {});
  return next;
}

async function runNow(
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv },
): Promise<CliResult> {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const capture =
    (into: string[]): Write =>
    (chunk: unknown, ...rest: unknown[]) => {
      into.push(typeof chunk === "string" ? chunk : Buffer.from(chunk as Uint8Array).toString("utf8"));
      const done = rest.find((r) => typeof r === "function") as ((err?: Error | null) => void) | undefined;
      if (done) queueMicrotask(() => done(null));
      return true;
    };
  const cwd = process.cwd();
  const exitCode = process.exitCode;
  const saved = new Map<string, string | undefined>();
  for (const [k, v] of Object.entries(options.env ?? {})) {
    saved.set(k, process.env[k]);
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  const out = process.stdout.write;
  const err = process.stderr.write;
  process.stdout.write = capture(stdout);
  process.stderr.write = capture(stderr);
  try {
    if (options.cwd) process.chdir(options.cwd);
    const code = await run(args);
    return { code, stdout: stdout.join(""), stderr: stderr.join("") };
  } finally {
    process.stdout.write = out;
    process.stderr.write = err;
    process.chdir(cwd);
    for (const [k, v] of saved) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    process.exitCode = exitCode;
  }
}
