import { type ChildProcess, spawn } from "node:child_process";
import { CLI_ENTRY } from "./cli.js";

/** A `tenure serve` child process and the URL it listens on. */
export interface ServeProcess {
  child: ChildProcess;
  url: string;
  output: () => string;
}

/**
 * Starts `tenure --config FILE serve --port 0 ARGS` through tsx, as a user would, and resolves with its
 * URL once it says it listens. The wall clock: TENURE_NOW is cleared.
 */
export function startServe(
  configFile: string,
  options: { env?: NodeJS.ProcessEnv; args?: readonly string[] } = {},
): Promise<ServeProcess> {
  const child = spawn(
    process.execPath,
    [...CLI_ENTRY, "--config", configFile, "serve", "--port", "0", ...(options.args ?? [])],
    { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, TENURE_NOW: "", ...options.env } },
  );
  let output = "";
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start: ${output}`)), 60_000);
    const onData = (d: Buffer) => {
      output += d;
      const match = /tenure API on (http:\/\/[^\s]+)/.exec(output);
      if (match?.[1]) {
        clearTimeout(timer);
        resolve({ child, url: match[1], output: () => output });
      }
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`serve exited with ${code}: ${output}`));
    });
  });
}

/** SIGTERM, and resolves once it exited (at once when it already had). */
export function stopServe(serve: ServeProcess): Promise<void> {
  if (serve.child.exitCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    serve.child.once("exit", () => resolve());
    serve.child.kill("SIGTERM");
  });
}
