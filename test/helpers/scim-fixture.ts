import { writeFile } from "node:fs/promises";
import path from "node:path";
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from "fastify";
import type { DestinationStream } from "pino";
import { PLATFORM_ROLES, type PlatformRole } from "../../src/api/auth/platform-roles.js";
import { createTokenService } from "../../src/api/auth/token-service.js";
import { buildServer } from "../../src/api/server.js";
import { loadConfig } from "../../src/policy/config-loader.js";
import type { ScimKeyAttribute, TenureConfig } from "../../src/policy/config-types.js";
import { apiTokenRepository } from "../../src/store/api-token-repository.js";
import { type AppDatabase, appDatabaseFactories, sqlSystemConfigYaml } from "./app-databases.js";
import type { StoreFactory, TestStore } from "./databases.js";
import { tempDir } from "./workspace.js";

export const SCIM_NOW = new Date("2026-03-02T10:00:00Z");

export interface ScimFixtureOptions {
  /** `server.scim.key`; default externalId. */
  key?: ScimKeyAttribute;
  /** The push source's correlation fallback; default none. */
  fallback?: "none" | "email";
  /** A `sql` system `app` on an SQLite application table, with a role every employee gets. */
  withSystem?: boolean;
  bodyLimit?: number;
  /** Listen on 127.0.0.1 and a free port (for clients other than `inject`). */
  listen?: boolean;
  /** `lifecycle.massChangeThreshold`; default the configuration's default. */
  massChangeThreshold?: { percent: number; minimum: number };
  /** Where the server's log lines go (at level info); default none. */
  logStream?: DestinationStream;
}

export interface ScimFixture {
  app: FastifyInstance;
  store: TestStore;
  config: TenureConfig;
  appDb: AppDatabase | undefined;
  /** A live token per platform role, and tokens that no longer authenticate. */
  tokenFor: Record<PlatformRole, string>;
  expiredToken: string;
  revokedToken: string;
  /** http://127.0.0.1:PORT when listening. */
  url: string | undefined;
  clock: { now: Date };
  dispose(): Promise<void>;
}

function yaml(options: ScimFixtureOptions, app: AppDatabase | undefined): string {
  const system =
    app === undefined
      ? ""
      : `
systems:
  app:
    connector: sql
    account: { username: "{givenName}.{familyName}", attributes: { email: "{email}" } }
    config:
${sqlSystemConfigYaml(app)}
entitlements:
  app:
    readers: { displayName: Readers }
roles:
  staff:
    when: "employmentType == 'employee'"
    grants: [{ system: app, entitlements: [readers] }]
`;
  return `
sources:
  hr:
    type: push
    correlation: { fallback: ${options.fallback ?? "none"} }
lifecycle:
  prehireDays: 7
${options.massChangeThreshold ? `  massChangeThreshold: { percent: ${options.massChangeThreshold.percent}, minimum: ${options.massChangeThreshold.minimum} }\n` : ""}${system}
server:
  bodyLimit: ${options.bodyLimit ?? 1_048_576}
  authFailuresPerMinute: 100000
  scim: { source: hr, key: ${options.key ?? "externalId"} }
`;
}

/**
 * A request to the fixture's SCIM endpoints (`url` after /scim/v2) with the HR source's token; a body
 * is sent as SCIM JSON (a string as it is).
 */
export function scimCall(
  f: Pick<ScimFixture, "app" | "tokenFor">,
  method: InjectOptions["method"],
  url: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<LightMyRequestResponse> {
  return f.app.inject({
    method,
    url: `/scim/v2${url}`,
    headers: {
      authorization: `Bearer ${f.tokenFor["hr-source"]}`,
      ...(body !== undefined ? { "content-type": "application/scim+json" } : {}),
      ...headers,
    },
    ...(body !== undefined ? { payload: typeof body === "string" ? body : JSON.stringify(body) } : {}),
  });
}

/**
 * A real API server with the SCIM endpoints on, over a real store with a push source `hr` (and, with
 * `withSystem`, an SQLite application database as system `app`), a token per role plus an expired and a
 * revoked one. Not listening unless `listen`; use `app.inject` then.
 */
export async function scimFixture(
  makeStore: StoreFactory,
  options: ScimFixtureOptions = {},
): Promise<ScimFixture> {
  const { dir, dispose: removeDir } = await tempDir("tenure-scim-");
  let appDb: AppDatabase | undefined;
  if (options.withSystem === true) {
    const sqliteApp = (await appDatabaseFactories()).find(([kind]) => kind === "sqlite")![1];
    appDb = await sqliteApp();
  }
  await writeFile(path.join(dir, "tenure.yaml"), yaml(options, appDb));
  const config = await loadConfig(path.join(dir, "tenure.yaml"), { env: {} });
  const store = await makeStore();
  const clock = { now: SCIM_NOW };
  const tokens = createTokenService({ db: store.db, tokens: apiTokenRepository, now: () => clock.now });
  const make = async (name: string, role: PlatformRole, expiresAt: Date | null = null) =>
    (await tokens.create({ name, role, expiresAt, actor: "test" })).token;
  const tokenFor = {} as Record<PlatformRole, string>;
  for (const role of PLATFORM_ROLES) tokenFor[role] = await make(`t-${role}`, role);
  clock.now = new Date(SCIM_NOW.getTime() - 7_200_000);
  const expiredToken = await make("t-expired", "admin", new Date(SCIM_NOW.getTime() - 3_600_000));
  clock.now = SCIM_NOW;
  const revokedToken = await make("t-revoked", "admin");
  await tokens.revoke("t-revoked", "test");

  const app = await buildServer({
    store,
    config,
    tokens,
    now: () => clock.now,
    ...(options.logStream !== undefined
      ? { logStream: options.logStream, logLevel: "info" as const }
      : { logLevel: "silent" as const }),
  });
  let url: string | undefined;
  if (options.listen === true) {
    await app.listen({ host: "127.0.0.1", port: 0 });
    url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
  } else {
    await app.ready();
  }
  return {
    app,
    store,
    config,
    appDb,
    tokenFor,
    expiredToken,
    revokedToken,
    url,
    clock,
    async dispose() {
      await app.close();
      await store.dispose();
      await appDb?.drop();
      await removeDir();
    },
  };
}
