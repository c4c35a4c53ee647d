/**
 * For the HTTP benchmarks: `tenure serve`'s server (startServer: the API, the background apply loop)
 * on a loopback port over the tenure.yaml at `configPath`, silent, with a fresh token of role
 * hr-source — what an HR system or identity provider pushing to Tenure holds.
 */
import { createTokenService } from "../src/api/auth/token-service.js";
import { type RunningServer, startServer } from "../src/api/serve.js";
import { loadConfig } from "../src/policy/config-loader.js";
import { apiTokenRepository } from "../src/store/api-token-repository.js";
import { openStore, type Store } from "../src/store/database.js";
import { type ServeProcess, startServe, stopServe } from "../test/helpers/serve-process.js";

export interface BenchServer {
  server: RunningServer;
  store: Store;
  token: string;
  /** Stops the server gracefully and closes the store (dropping `dropSchema` first, when given). */
  close(dropSchema?: string): Promise<void>;
}

export async function startBenchServer(configPath: string): Promise<BenchServer> {
  const config = await loadConfig(configPath);
  const store = await openStore(config.database, { baseDir: config.baseDir });
  const now = () => new Date();
  const server = await startServer({ config, store, now, host: "127.0.0.1", port: 0, logLevel: "silent" });
  const tokens = createTokenService({ db: store.db, tokens: apiTokenRepository, now });
  const { token } = await tokens.create({
    name: "bench-push",
    role: "hr-source",
    expiresAt: null,
    actor: "bench",
  });
  return {
    server,
    store,
    token,
    async close(dropSchema) {
      await server.close();
      if (dropSchema !== undefined)
        await store.db.schema.dropSchema(dropSchema).ifExists().cascade().execute();
      await store.close();
    },
  };
}

export interface BenchServeProcesses {
  urls: string[];
  store: Store;
  token: string;
  /** Stops the processes gracefully and closes the store (dropping `dropSchema` first, when given). */
  close(dropSchema?: string): Promise<void>;
}

/**
 * `count` real `tenure serve` processes (the CLI through tsx) over the tenure.yaml at `configPath`, as
 * a deployment behind a load balancer runs them on one PostgreSQL store; this process keeps the store
 * open to make the push token (valid for all of them) and to count what landed.
 */
export async function startServeProcesses(configPath: string, count: number): Promise<BenchServeProcesses> {
  const config = await loadConfig(configPath);
  const store = await openStore(config.database, { baseDir: config.baseDir });
  const now = () => new Date();
  const tokens = createTokenService({ db: store.db, tokens: apiTokenRepository, now });
  const { token } = await tokens.create({
    name: "bench-push",
    role: "hr-source",
    expiresAt: null,
    actor: "bench",
  });
  const serves: ServeProcess[] = [];
  try {
    for (let i = 0; i < count; i++)
      serves.push(await startServe(configPath, { args: ["--log-level", "warn"] }));
  } catch (err) {
    await Promise.all(serves.map(stopServe));
    await store.close();
    throw err;
  }
  return {
    urls: serves.map((s) => s.url.replace(/\/$/, "")),
    store,
    token,
    async close(dropSchema) {
      await Promise.all(serves.map(stopServe));
      if (dropSchema !== undefined)
        await store.db.schema.dropSchema(dropSchema).ifExists().cascade().execute();
      await store.close();
    },
  };
}
