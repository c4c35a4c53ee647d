import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { schedulerLockKeys } from "../../src/engine/scheduler-leadership.js";
import { CLI_ENTRY, runCli } from "../helpers/cli.js";
import { POSTGRES_ADMIN_URL, postgresAvailable } from "../helpers/databases.js";
import { tempDir } from "../helpers/workspace.js";

const DEPLOY = fileURLToPath(new URL("../../deploy/container/", import.meta.url));

interface ComposeService {
  command: string[];
  depends_on?: Record<string, { condition: string }>;
}

/** One Tenure process of the topology, started with a compose service's own command. */
interface Running {
  name: string;
  child: ChildProcess;
  output: () => string;
}

function start(name: string, args: string[], configFile: string, ready: RegExp): Promise<Running> {
  const child = spawn(process.execPath, [...CLI_ENTRY, ...args], {
    env: { ...process.env, TENURE_CONFIG: configFile, TENURE_NOW: "" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const running = { name, child, output: () => output };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start: ${output}`)), 60_000);
    const onData = (d: Buffer) => {
      output += d;
      if (ready.test(output)) {
        clearTimeout(timer);
        resolve(running);
      }
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited with ${code}: ${output}`));
    });
  });
}

function stop(p: Running): Promise<number | null> {
  if (p.child.exitCode !== null) return Promise.resolve(p.child.exitCode);
  return new Promise((resolve) => {
    p.child.once("exit", (code) => resolve(code));
    p.child.kill("SIGTERM");
  });
}

async function admin<T>(database: string | undefined, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const url = new URL(POSTGRES_ADMIN_URL);
  if (database !== undefined) url.pathname = `/${database}`;
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/**
 * docs/operations.md, "Containers": this machine builds no images, so the topology of
 * deploy/container/compose.yaml runs here as processes — the same commands, in the same order (init,
 * then two serve and two workers), over deploy/container/tenure.yaml with only its host, user and
 * secrets folder pointed at this machine.
 */
describe.runIf(await postgresAvailable())("the compose topology, as processes", () => {
  const database = `tenure_topology_${randomBytes(4).toString("hex")}`;
  let dir: string;
  let dispose: () => Promise<void>;
  let configFile: string;
  let services: Record<string, ComposeService>;
  const running: Running[] = [];

  beforeAll(async () => {
    ({ dir, dispose } = await tempDir("tenure-topology-"));
    await admin(undefined, (c) => c.query(`create database ${database}`));
    const compose = parse(await readFile(path.join(DEPLOY, "compose.yaml"), "utf8"), { merge: true }) as {
      services: Record<string, ComposeService>;
    };
    services = compose.services;
    // The file compose mounts, pointed at this machine: the secret stays a ${file:} reference.
    const admin_ = new URL(POSTGRES_ADMIN_URL);
    const text = (await readFile(path.join(DEPLOY, "tenure.yaml"), "utf8"))
      .replaceAll("/run/secrets", dir)
      .replace("postgres://tenure:", `postgres://${admin_.username || "postgres"}:`)
      .replace("@db:5432/tenure", `@${admin_.host}/${database}`);
    expect(text).toContain(`\${file:${dir}/db-password}`);
    configFile = path.join(dir, "tenure.yaml");
    await writeFile(configFile, text);
    // PostgreSQL here trusts loopback: the password is read and sent, and not needed.
    await writeFile(path.join(dir, "db-password"), "not-needed-under-trust\n", { mode: 0o600 });
  }, 60_000);

  afterAll(async () => {
    await Promise.all(running.map((p) => stop(p)));
    await admin(undefined, (c) => c.query(`drop database if exists ${database} with (force)`));
    await dispose();
  });

  it("init, two servers and two workers start on one database, serve the same people and elect one scheduler leader", async () => {
    expect(Object.keys(services).sort()).toEqual([
      "db",
      "init",
      "serve-1",
      "serve-2",
      "worker-1",
      "worker-2",
    ]);
    for (const name of ["serve-1", "serve-2", "worker-1", "worker-2"])
      expect(services[name]?.depends_on).toEqual({ init: { condition: "service_completed_successfully" } });

    // init runs to completion first, as compose's service_completed_successfully orders it.
    const init = await runCli(services.init!.command, { env: { TENURE_CONFIG: configFile } });
    expect(init.code, init.stderr).toBe(0);

    // Each server listens on its own port here (compose gives each a container), on loopback only.
    const serveArgs = (name: string) => [
      ...services[name]!.command.map((a) => (a === "0.0.0.0" ? "127.0.0.1" : a)),
      "--port",
      "0",
    ];
    for (const name of ["serve-1", "serve-2"])
      running.push(await start(name, serveArgs(name), configFile, /tenure API on http:\/\/\S+/));
    for (const name of ["worker-1", "worker-2"])
      running.push(await start(name, services[name]!.command, configFile, /worker started/));
    const urls = running
      .slice(0, 2)
      .map((p) => /tenure API on (http:\/\/\S+)/.exec(p.output())![1]!.replace(/\/$/, ""));

    for (const url of urls) expect((await fetch(`${url}/api/ready`)).status).toBe(200);

    // A SCIM push to one server is the same person when read from the other.
    const token = await runCli(["token", "create", "--name", "idp", "--role", "hr-source", "--json"], {
      env: { TENURE_CONFIG: configFile },
    });
    expect(token.code, token.stderr).toBe(0);
    const bearer = { authorization: `Bearer ${JSON.parse(token.stdout).token}` };
    const created = await fetch(`${urls[0]}/scim/v2/Users`, {
      method: "POST",
      headers: { ...bearer, "content-type": "application/scim+json" },
      body: JSON.stringify({
        schemas: ["urn:ietf:params:scim:schemas:core:2.0:User"],
        externalId: "E7001",
        userName: "ada@example.test",
        name: { givenName: "Ada", familyName: "Lovelace" },
        active: true,
      }),
    });
    expect(created.status).toBe(201);
    const { id } = (await created.json()) as { id: string };
    const read = await fetch(`${urls[1]}/scim/v2/Users/${id}`, { headers: bearer });
    expect(read.status).toBe(200);
    expect(await read.json()).toMatchObject({ id, externalId: "E7001", userName: "ada@example.test" });

    // Four processes compete for the scheduler; exactly one holds its advisory lock.
    const [classId] = schedulerLockKeys("public");
    const holders = () =>
      admin(database, async (c) => {
        const r = await c.query(
          "select count(*)::int as n from pg_locks where locktype = 'advisory' and granted and classid = $1 and database = (select oid from pg_database where datname = current_database())",
          [classId],
        );
        return r.rows[0].n as number;
      });
    const deadline = Date.now() + 30_000;
    while ((await holders()) === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    for (let i = 0; i < 5; i++) {
      expect(await holders()).toBe(1);
      await new Promise((r) => setTimeout(r, 200));
    }

    // SIGTERM stops each gracefully.
    for (const p of running) expect(await stop(p), `${p.name}: ${p.output()}`).toBe(0);
  }, 180_000);
});
