import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTokenService } from "../../src/api/auth/token-service.js";
import { buildServer } from "../../src/api/server.js";
import { queryEvents } from "../../src/audit/ledger.js";
import { loadConfig } from "../../src/policy/config-loader.js";
import { apiTokenRepository } from "../../src/store/api-token-repository.js";
import { openStore } from "../../src/store/database.js";
import { runCli } from "../helpers/cli.js";
import { tempDir } from "../helpers/workspace.js";

describe("tenure console link", () => {
  let dir: string;
  let dispose: () => Promise<void>;
  let config: string[];
  beforeAll(async () => {
    ({ dir, dispose } = await tempDir("tenure-console-cli-"));
    expect((await runCli(["init", dir])).code).toBe(0);
    config = ["--config", path.join(dir, "tenure.yaml")];
  });
  afterAll(() => dispose());

  it("prints a one-time link that signs in once with the role asked for (--json), and audits making it", async () => {
    const res = await runCli([
      ...config,
      "console",
      "link",
      "--role",
      "auditor",
      "--name",
      "first-auditor",
      "--json",
    ]);
    expect(res.code, res.stderr).toBe(0);
    const link = JSON.parse(res.stdout) as { url: string; expiresAt: string };
    expect(link.url).toMatch(/^http:\/\/127\.0\.0\.1:8080\/auth\/link\/[A-Za-z0-9_-]{43}$/);

    const loaded = await loadConfig(path.join(dir, "tenure.yaml"));
    const store = await openStore(loaded.database, { baseDir: loaded.baseDir });
    const now = () => new Date();
    const app = await buildServer({
      store,
      config: loaded,
      tokens: createTokenService({ db: store.db, tokens: apiTokenRepository, now }),
      now,
      logLevel: "silent",
    });
    try {
      const events = await queryEvents(store.db, { action: "sign-in-link.created", limit: 10 });
      expect(events).toEqual([
        expect.objectContaining({
          details: expect.objectContaining({ name: "first-auditor", role: "auditor" }),
        }),
      ]);
      // The code is in no audit event: only its hash is stored.
      const code = link.url.slice(link.url.lastIndexOf("/") + 1);
      expect(JSON.stringify(events)).not.toContain(code);
      const first = await app.inject({ url: new URL(link.url).pathname });
      expect(first.statusCode).toBe(303);
      const cookie = first.cookies.find((c) => c.name === "tenure_session")!;
      const me = await app.inject({
        url: "/api/session",
        headers: { cookie: `tenure_session=${cookie.value}` },
      });
      expect(me.json()).toMatchObject({ name: "first-auditor", role: "auditor", via: "link" });
      expect((await app.inject({ url: new URL(link.url).pathname })).statusCode).toBe(404);
    } finally {
      await app.close();
      await store.close();
    }
  });

  it("prints it in words without --json", async () => {
    const res = await runCli([...config, "console", "link"]);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toMatch(/sign in to the console as console-admin \(admin\); it works once, until /);
    expect(res.stdout).toMatch(/\/auth\/link\//);
  });

  it("refuses a role a person cannot sign in with, and a bad duration, with exit 2", async () => {
    const role = await runCli([...config, "console", "link", "--role", "hr-source"]);
    expect(role.code).toBe(2);
    expect(role.stderr).toContain("--role hr-source: expected one of admin, auditor, reviewer, requester");
    const minutes = await runCli([...config, "console", "link", "--minutes", "0"]);
    expect(minutes.code).toBe(2);
    expect(minutes.stderr).toContain("--minutes");
  });
});
