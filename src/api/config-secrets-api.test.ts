// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these strings are tenure.yaml text, where ${env:…} and ${file:…} are literal references.
/**
 * No API answer carries a value that came from a `${env:…}` / `${file:…}` reference, even where a
 * connector's own message would: a system whose URL holds its token is reported unreachable without it.
 */

import { writeFile } from "node:fs/promises";
import path from "node:path";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { storeFactories, type TestStore } from "../../test/helpers/databases.js";
import { freePort } from "../../test/helpers/net.js";
import { tempDir } from "../../test/helpers/workspace.js";
import { loadConfig } from "../policy/config-loader.js";
import { apiTokenRepository } from "../store/api-token-repository.js";
import { createTokenService } from "./auth/token-service.js";
import { buildServer } from "./server.js";

const NOW = new Date("2026-03-02T10:00:00Z");

const PORT = await freePort();
const SECRETS = {
  HOOK_LIST_URL: `http://127.0.0.1:${PORT}/accounts/T0KEN-list-4f9a2c81`,
  SCIM_URL: `http://127.0.0.1:${PORT}/scim/v2/tenant-Pr1vate-7d3e`,
  SCIM_TOKEN: "scim-bearer-Z9x8c7v6b5",
};
const FILE_SECRET = "hook-signing-secret-0a1b2c3d4e5f";

describe.each(await storeFactories())("API answers on %s", (_kind, makeStore) => {
  let app: FastifyInstance;
  let store: TestStore;
  let dispose: () => Promise<void>;
  let token: string;

  beforeAll(async () => {
    const dir = await tempDir("tenure-api-secrets-");
    dispose = dir.dispose;
    await writeFile(path.join(dir.dir, "hook-secret"), `${FILE_SECRET}\n`);
    await writeFile(
      path.join(dir.dir, "tenure.yaml"),
      [
        "systems:",
        "  hook:",
        "    connector: webhook",
        "    config:",
        "      url: https://hooks.example.test/tenure",
        "      listUrl: ${env:HOOK_LIST_URL}",
        "      secret: ${file:hook-secret}",
        "  crm:",
        "    connector: scim",
        "    config:",
        "      baseUrl: ${env:SCIM_URL}",
        "      auth: { type: bearer, token: '${env:SCIM_TOKEN}' }",
      ].join("\n"),
    );
    const config = await loadConfig(path.join(dir.dir, "tenure.yaml"), { env: SECRETS });
    store = await makeStore();
    const tokens = createTokenService({ db: store.db, tokens: apiTokenRepository, now: () => NOW });
    token = (await tokens.create({ name: "t-admin", role: "admin", expiresAt: null, actor: "test" })).token;
    app = await buildServer({ store, config, tokens, now: () => NOW, logStream: { write: () => true } });
    await app.ready();
  });
  afterAll(async () => {
    await app?.close();
    await store?.dispose();
    await dispose?.();
  });

  it("GET /api/systems and /api/systems/:name report unreachable systems without their secrets", async () => {
    const all = await app.inject({ url: "/api/systems", headers: { authorization: `Bearer ${token}` } });
    expect(all.statusCode).toBe(200);
    const items = all.json().items as { name: string; health: { status: string; message: string } }[];
    // The checks ran and failed, so the connectors' messages (which name the request) are in the answer.
    expect(items.map((s) => [s.name, s.health.status])).toEqual([
      ["hook", "unreachable"],
      ["crm", "unreachable"],
    ]);
    expect(items.map((s) => s.health.message)).toEqual([
      expect.stringContaining("ECONNREFUSED"),
      expect.stringContaining("ECONNREFUSED"),
    ]);
    const one = await app.inject({ url: "/api/systems/hook", headers: { authorization: `Bearer ${token}` } });
    expect(one.statusCode).toBe(200);
    for (const body of [all.body, one.body]) {
      for (const value of [...Object.values(SECRETS), FILE_SECRET]) expect(body).not.toContain(value);
    }
  });
});
