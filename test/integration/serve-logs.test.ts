/**
 * `tenure serve` logs for machines (JSON lines, the default off a terminal) and for people
 * (`--log-format pretty`), at the level `--log-level` says: the real process, its real stdout.
 */
import { spawn } from "node:child_process";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI_ENTRY, runCli } from "../helpers/cli.js";
import { tempDir } from "../helpers/workspace.js";

let dir: string;
let dispose: () => Promise<void>;
beforeAll(async () => {
  ({ dir, dispose } = await tempDir("tenure-serve-logs-"));
  expect((await runCli(["init", dir])).code).toBe(0);
});
afterAll(() => dispose());

/** Starts serve with `args`, asks for /api/health once it listens, stops it, and gives its stdout lines. */
function serveLines(args: string[]): Promise<string[]> {
  const child = spawn(
    process.execPath,
    [...CLI_ENTRY, "--config", path.join(dir, "tenure.yaml"), "serve", "--port", "0", ...args],
    { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, TENURE_NOW: "" } },
  );
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d) => {
    stdout += d;
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start: ${stderr}`)), 30_000);
    child.stderr.on("data", async (d) => {
      stderr += d;
      const url = /tenure API on (http:\/\/\S+)/.exec(stderr)?.[1];
      if (url === undefined || child.killed) return;
      clearTimeout(timer);
      await fetch(`${url}/api/ready`);
      child.kill("SIGTERM");
    });
    child.on("exit", (code) => {
      clearTimeout(timer);
      if (code !== 0) reject(new Error(`serve exited ${code}: ${stderr}`));
      else resolve(stdout.split("\n").filter((l) => l !== ""));
    });
  });
}

describe("tenure serve logging", () => {
  it("writes one JSON object a line by default when stdout is not a terminal", async () => {
    const lines = await serveLines([]);
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) expect(() => JSON.parse(line)).not.toThrow();
    const messages = lines.map((l) => String(JSON.parse(l).msg));
    expect(messages.some((m) => /^Server listening at http:\/\/127\.0\.0\.1:\d+$/.test(m))).toBe(true);
  });

  it("--log-format pretty writes lines for people, with time and level in words", async () => {
    const lines = await serveLines(["--log-format", "pretty"]);
    expect(
      lines.some((l) => /^\[\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3}\] INFO: Server listening at/.test(l)),
    ).toBe(true);
    expect(lines.filter((l) => l.startsWith("{"))).toEqual([]);
  });

  it("--log-level warn leaves out the info lines; an unknown level is a usage error", async () => {
    const lines = await serveLines(["--log-level", "warn"]);
    expect(lines.filter((l) => l.includes("Server listening"))).toEqual([]);
    const bad = await runCli(["--config", path.join(dir, "tenure.yaml"), "serve", "--log-level", "loud"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/loud.*Allowed choices are trace, debug, info, warn, error, fatal, silent/);
  });
});
