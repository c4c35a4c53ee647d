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
      await write("server:\n  port: 70000\n  bodyLimit: 0\n  hots: 0.0.0.0\n  pushConcurrency: 0\n"),
    );
    const found = errors.map((e) => `${e.line}:${e.path}: ${e.message}`);
    expect(found).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^2:server\.port: expected a TCP port from 0 to 65535/),
        expect.stringMatching(/^3:server\.bodyLimit: expected a size in bytes/),
        expect.stringMatching(/^4:server\.hots: unknown key 'hots' — did you mean 'host'\?/),
        expect.stringMatching(/^5:server\.pushConcurrency: expected a whole number of pushes \(1 or more\)/),
      ]),
    );
  });

  it("reads server.console with its defaults, and reports its mistakes at their lines", async () => {
    const config = await loadConfig(
      await write(
        [
          "server:",
          "  console:",
          "    publicUrl: https://tenure.example.test",
          "    oidc:",
          "      issuer: https://login.example.test",
          "      clientId: tenure",
          "      clientSecret: $" + "{env:OIDC_SECRET}",
          "      roles: { map: { admins: admin } }",
        ].join("\n"),
      ),
      { env: { OIDC_SECRET: "s3cret" } },
    );
    expect(config.server.console).toEqual({
      sessionHours: 8,
      publicUrl: "https://tenure.example.test",
      oidc: {
        issuer: "https://login.example.test",
        clientId: "tenure",
        clientSecret: "s3cret",
        label: "single sign-on",
        scopes: ["openid", "email", "profile"],
        match: { claim: "email", attribute: "email" },
        roles: { claim: "groups", map: { admins: "admin" } },
      },
    });
    expect(DEFAULT_SERVER.console).toEqual({ sessionHours: 8 });
    const { errors } = await validateConfigFile(
      await write(
        [
          "server:",
          "  console:",
          "    sessionHours: 0",
          "    publicUrl: ftp://x",
          "    oidc:",
          "      issuer: not a url",
          "      clientId: tenure",
          "      clientSecret: x",
          "      roles: { map: { admins: hr-source }, default: root }",
        ].join("\n"),
      ),
      { env: {} },
    );
    const found = errors.map((e) => `${e.line}:${e.path}: ${e.message}`);
    expect(found).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^3:server\.console\.sessionHours: expected a number of hours from 1 to 720/),
        expect.stringMatching(/^4:server\.console\.publicUrl: expected an http\(s\) URL/),
        expect.stringMatching(/^6:server\.console\.oidc\.issuer: expected an http\(s\) URL/),
        expect.stringMatching(/^9:server\.console\.oidc\.roles\.map\.admins: expected a platform role/),
        expect.stringMatching(/^9:server\.console\.oidc\.roles\.default: expected a platform role/),
      ]),
    );
  });
});
