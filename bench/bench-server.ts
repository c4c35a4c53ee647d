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
