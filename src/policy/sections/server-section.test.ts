import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig, validateConfigFile } from "../config-loader.js";
import { DEFAULT_SERVER } from "./server-section.js";

describe("the server section", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "tenure-server-section-"));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  const write = async (text: string) => {
    const file = path.join(dir, `t${Math.random().toString(36).slice(2)}.yaml`);
    await writeFile(file, text);
    return file;
  };

  it("defaults to this machine only, port 8080, 1 MiB bodies, an apply run every 5 s", async () => {
    expect(DEFAULT_SERVER).toMatchObject({
      host: "127.0.0.1",
      port: 8080,
      bodyLimit: 1_048_576,
      trustProxy: false,
      applyIntervalSeconds: 5,
      authFailuresPerMinute: 10,
      healthTimeoutMs: 3000,
    });
    expect((await loadConfig(await write("# nothing"), { env: {} })).server).toEqual(DEFAULT_SERVER);
  });

  it("keeps what is given and fills in the rest", async () => {
    const config = await loadConfig(await write("server:\n  port: 9000\n  trustProxy: true\n"), { env: {} });
    expect(config.server).toEqual({ ...DEFAULT_SERVER, port: 9000, trustProxy: true });
    expect(Object.isFrozen(DEFAULT_SERVER)).toBe(true);
  });

  it("reports a bad port, a bad size and an unknown key where they are written", async () => {
    const { errors } = await validateConfigFile(
      await write("server:\n  port: 70000\n  bodyLimit: 0\n  hots: 0.0.0.0\n"),
    );
    const found = errors.map((e) => `${e.line}:${e.path}: ${e.message}`);
    expect(found).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^2:server\.port: expected a TCP port from 0 to 65535/),
        expect.stringMatching(/^3:server\.bodyLimit: expected a size in bytes/),
        expect.stringMatching(/^4:server\.hots: unknown key 'hots' — did you mean 'host'\?/),
      ]),
    );
  });
});
