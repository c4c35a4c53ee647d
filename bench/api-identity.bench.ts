/**
 * `GET /api/identities/{id}` under load (issue 19 item 5): `tenure serve`'s server over a store of
 * 100,000 identities, asked for random identities by `autocannon` from a process of its own (so the
 * load generator does not share the server's event loop), with an auditor's token.
 *
 *   node --import tsx bench/api-identity.bench.ts [--identities N] [--connections 32] [--seconds 10] [--postgres URL]
 *
 * Floor, in the same run: a bare Fastify server on the same database answering the same path with the
 * same row (one prepared statement on SQLite, one pooled query on PostgreSQL; no authentication, no
 * schema, no security headers), under the same load. `ratio` is Tenure's requests per second over the
 * floor's. Prints one JSON line per database.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import autocannon from "autocannon";
import BetterSqlite3 from "better-sqlite3";
import Fastify from "fastify";
import pg from "pg";
import { createTokenService } from "../src/api/auth/token-service.js";
import { startServer } from "../src/api/serve.js";
import { loadConfig } from "../src/policy/config-loader.js";
import { apiTokenRepository } from "../src/store/api-token-repository.js";
import { openStore } from "../src/store/database.js";
import { identityRepository } from "../src/store/identity-repository.js";
import { benchIdentities, benchIdentityId } from "./bench-identities.js";
import { withPostgresSchema } from "./bench-postgres.js";

const { values: args } = parseArgs({
  options: {
    identities: { type: "string", default: "100000" },
    connections: { type: "string", default: "32" },
    seconds: { type: "string", default: "10" },
    postgres: { type: "string" },
    // Internal: this file run as the load generator, against one URL.
    load: { type: "string" },
  },
});
const total = Number(args.identities);
const connections = Number(args.connections);
const seconds = Number(args.seconds);

interface LoadResult {
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  requests: number;
  non2xx: number;
  errors: number;
}

/** The load generator's side: autocannon against `url`, a random identity each request. */
async function generateLoad(job: { url: string; token?: string }): Promise<LoadResult> {
  const result = await autocannon({
    url: job.url,
    connections,
    duration: seconds,
    headers: job.token ? { authorization: `Bearer ${job.token}` } : {},
    requests: [
      {
        setupRequest: (req) => ({
          ...req,
          path: `/api/identities/${benchIdentityId(Math.floor(Math.random() * total))}`,
        }),
      },
    ],
  });
  return {
    requestsPerSecond: Math.round(result.requests.average),
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    requests: result.requests.total,
    non2xx: result.non2xx,
    errors: result.errors,
  };
}

/** Runs the load generator in a child process and returns what it measured. */
function loadFromChild(url: string, token?: string): Promise<LoadResult> {
  const self = fileURLToPath(import.meta.url);
  const child = spawn(
    process.execPath,
    [
      "--import",
      "tsx",
      self,
      "--identities",
      String(total),
      "--connections",
      String(connections),
      "--seconds",
      String(seconds),
      "--load",
      JSON.stringify({ url, token }),
    ],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  let out = "";
  child.stdout.on("data", (d) => {
    out += d;
  });
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code) => {
      if (code !== 0) reject(new Error(`the load generator exited with ${code}`));
      else resolve(JSON.parse(out.trim().split("\n").at(-1)!) as LoadResult);
    });
  });
}

/** A bare Fastify answering the same path from the same table: what the route costs without Tenure. */
async function bareServer(find: (id: string) => Promise<unknown>) {
  const app = Fastify({ logger: false });
  app.get<{ Params: { id: string } }>("/api/identities/:id", async (request, reply) => {
    const row = await find(request.params.id);
    if (row === undefined) return reply.code(404).send({ error: "not found" });
    return row;
  });
  const url = await app.listen({ host: "127.0.0.1", port: 0 });
  return { url, close: () => app.close() };
}

function check(what: string, r: LoadResult) {
  if (r.non2xx > 0 || r.errors > 0 || r.requests === 0)
    throw new Error(`${what}: ${r.non2xx} answers not 2xx and ${r.errors} errors of ${r.requests}`);
}

async function measure(database: "sqlite" | "postgres", url: string, dir: string, floorFind: () => Bare) {
  const configPath = path.join(dir, `tenure-${database}.yaml`);
  writeFileSync(configPath, `database: "${url}"\nsources:\n  hr: { type: push }\n`);
  const config = await loadConfig(configPath);
  const store = await openStore(config.database, { baseDir: config.baseDir, create: true });
  try {
    await identityRepository.upsertMany(store.db, benchIdentities(total));
    const now = () => new Date();
    const { token } = await createTokenService({ db: store.db, tokens: apiTokenRepository, now }).create({
      name: "bench-auditor",
      role: "auditor",
      expiresAt: null,
      actor: "bench",
    });
    const server = await startServer({ config, store, now, host: "127.0.0.1", port: 0, logLevel: "silent" });
    let tenure: LoadResult;
    try {
      tenure = await loadFromChild(server.url, token);
      check("tenure", tenure);
    } finally {
      await server.close();
    }
    const bare = floorFind();
    const floorServer = await bareServer(bare.find);
    let floor: LoadResult;
    try {
      floor = await loadFromChild(floorServer.url);
      check("floor", floor);
    } finally {
      await floorServer.close();
      await bare.close();
    }
    console.log(
      JSON.stringify({
        name: "api-identity",
        database,
        identities: total,
        connections,
        seconds,
        ...tenure,
        floor,
        ratio: Number((tenure.requestsPerSecond / floor.requestsPerSecond).toFixed(2)),
        loadAverage: Number(os.loadavg()[0]!.toFixed(2)),
      }),
    );
  } finally {
    await store.close();
  }
}

interface Bare {
  find: (id: string) => Promise<unknown>;
  close: () => Promise<void>;
}

function parsed(row: Record<string, unknown> | undefined): unknown {
  if (row === undefined) return undefined;
  return { ...row, attributes: JSON.parse(row.attributes as string) };
}

async function main() {
  if (args.load !== undefined) {
    console.log(JSON.stringify(await generateLoad(JSON.parse(args.load) as { url: string; token?: string })));
    return;
  }
  const dir = mkdtempSync(path.join(os.tmpdir(), "tenure-bench-api-"));
  try {
    const file = path.join(dir, "tenure.db");
    await measure("sqlite", `sqlite:${file}`, dir, () => {
      const db = new BetterSqlite3(file, { readonly: true });
      const byId = db.prepare("select * from identities where id = ?");
      return {
        find: async (id) => parsed(byId.get(id) as Record<string, unknown> | undefined),
        close: async () => {
          db.close();
        },
      };
    });
    if (args.postgres === undefined) return;
    await withPostgresSchema(args.postgres, "bench_api", (url) =>
      measure("postgres", url, dir, () => {
        const schema = new URL(url).searchParams.get("schema")!;
        const plain = new URL(url);
        plain.searchParams.delete("schema");
        const pool = new pg.Pool({
          connectionString: plain.toString(),
          max: 10,
          options: `-c search_path=${schema}`,
        });
        return {
          find: async (id) =>
            parsed(
              (await pool.query("select * from identities where id = $1", [id])).rows[0] as Record<
                string,
                unknown
              >,
            ),
          close: () => pool.end(),
        };
      }),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
