/**
 * The floors of the SCIM burst (bench/scim-burst.bench.ts), each driven by the same clients as Tenure
 * in the same run, so every figure is a ratio:
 * - a bare Fastify server whose POST /Users inserts the body into one table of SQLite (better-sqlite3,
 *   WAL, one prepared statement) or PostgreSQL (pg pool of 10) and answers 201: what an HTTP endpoint
 *   with a store costs here, with no SCIM, no lifecycle and no audit;
 * - scimmy (the SCIM server our connector tests run against: test/helpers/scim-peer.ts), storing in
 *   memory: another SCIM server's cost of the same requests;
 * - a bare ldapts script making the directory writes a create makes (add the entry, add it to the
 *   group) with as many connections as there are clients: what the directory itself allows;
 * - the bare insert endpoint making those directory writes too before it answers: the least work a
 *   push provisioned into the directory is, with the store, slapd and the endpoint sharing the cores.
 */
import path from "node:path";
import BetterSqlite3 from "better-sqlite3";
import Fastify from "fastify";
import { Attribute, Change, Client } from "ldapts";
import pg from "pg";
import { startScimPeer } from "../test/helpers/scim-peer.js";
import { type Slapd, SUFFIX } from "../test/helpers/slapd.js";
import { benchScimUser } from "./bench-scim-user.js";

export interface BurstResult {
  seconds: number;
  perSecond: number;
  /** Answers by HTTP status (or `ok` for the LDAP floor). */
  answers: Record<string, number>;
  /** CPU time of this process (server and clients alike) per request, in milliseconds. */
  cpuMsPerRequest: number;
}

/** Runs `send(i)` for i in 0..count-1 from `clients` concurrent loops; counts what each returned. */
export async function burst(
  count: number,
  clients: number,
  send: (i: number) => Promise<number | string>,
): Promise<BurstResult> {
  const answers = new Map<string, number>();
  let next = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      for (let i = next++; i < count; i = next++) {
        const answer = String(await send(i));
        answers.set(answer, (answers.get(answer) ?? 0) + 1);
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  return {
    seconds: +seconds.toFixed(2),
    perSecond: Math.round(count / seconds),
    answers: Object.fromEntries(answers),
    cpuMsPerRequest: +((cpu.user + cpu.system) / 1000 / count).toFixed(2),
  };
}

/** POSTs SCIM User `i` to `url` and returns the status. */
export async function postUser(url: string, token: string, i: number): Promise<number> {
  const response = await fetch(url, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/scim+json" },
    body: JSON.stringify(benchScimUser(i, "Sales")),
  });
  await response.arrayBuffer();
  return response.status;
}

interface BareStore {
  insert: (row: [string, string, string, string]) => Promise<void>;
  close: () => Promise<void>;
}

/** One table of SQLite (a file in `dir`, WAL) or PostgreSQL (`postgresUrl`, a pool of 10, its own schema). */
async function bareStore(
  store: "sqlite" | "postgres",
  options: { dir: string; postgresUrl: string },
): Promise<BareStore> {
  const ddl = "(id text primary key, user_name text unique, external_id text, json text)";
  if (store === "sqlite") {
    const db = new BetterSqlite3(path.join(options.dir, "floor.db"));
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = NORMAL");
    db.exec(`drop table if exists users; create table users ${ddl}`);
    const statement = db.prepare("insert into users values (?, ?, ?, ?)");
    return {
      insert: async (row) => {
        statement.run(...row);
      },
      close: async () => {
        db.close();
      },
    };
  }
  const schema = `bench_floor_${process.pid}`;
  const pool = new pg.Pool({ connectionString: options.postgresUrl, max: 10 });
  await pool.query(`drop schema if exists ${schema} cascade; create schema ${schema}`);
  await pool.query(`create table ${schema}.users ${ddl}`);
  return {
    insert: async (row) => {
      await pool.query(`insert into ${schema}.users values ($1, $2, $3, $4)`, row);
    },
    close: async () => {
      await pool.query(`drop schema ${schema} cascade`);
      await pool.end();
    },
  };
}

/**
 * A bare Fastify endpoint whose POST /Users inserts the body into `store` and then runs `after` (when
 * given) before it answers 201, driven by the burst's clients.
 */
async function bareEndpointBurst(
  store: BareStore,
  options: { users: number; clients: number },
  after?: (i: number) => Promise<void>,
): Promise<BurstResult> {
  const app = Fastify({ logger: false });
  app.addContentTypeParser("application/scim+json", { parseAs: "string" }, (_req, body, done) => {
    try {
      done(null, JSON.parse(String(body)));
    } catch (err) {
      done(err as Error, undefined);
    }
  });
  app.post("/Users", async (request, reply) => {
    const body = request.body as { userName: string; externalId: string };
    const id = crypto.randomUUID();
    await store.insert([id, body.userName, body.externalId, JSON.stringify(body)]);
    // The bench's externalId is 100000 + i (bench-scim-user.ts).
    if (after !== undefined) await after(Number(body.externalId) - 100_000);
    return reply.code(201).send({ ...body, id });
  });
  const address = await app.listen({ host: "127.0.0.1", port: 0 });
  try {
    return await burst(options.users, options.clients, (i) => postUser(`${address}/Users`, "none", i));
  } finally {
    await app.close();
  }
}

/** The bare insert endpoint over SQLite (a file in `dir`) or PostgreSQL (`postgresUrl`, its own schema). */
export async function bareInsertFloor(
  store: "sqlite" | "postgres",
  options: { dir: string; postgresUrl: string; users: number; clients: number },
): Promise<BurstResult> {
  const bare = await bareStore(store, options);
  try {
    return await bareEndpointBurst(bare, options);
  } finally {
    await bare.close();
  }
}

/**
 * The bare insert endpoint that also makes the directory writes of a create (those of `ldapFloor`)
 * before it answers: the least any program does for a push provisioned into the directory here — one
 * store write and two directory writes — with the store and slapd sharing this machine's cores.
 */
export async function bareProvisionFloor(
  store: "sqlite" | "postgres",
  slapd: Slapd,
  options: { dir: string; postgresUrl: string; users: number; clients: number },
): Promise<BurstResult> {
  const bare = await bareStore(store, options);
  const directory = await floorDirectory(slapd, "provision", options.clients);
  try {
    return await bareEndpointBurst(bare, options, directory.write);
  } finally {
    await directory.close();
    await bare.close();
  }
}

/** scimmy with in-memory storage (test/helpers/scim-peer.ts), the same POSTs. */
export async function scimmyFloor(users: number, clients: number): Promise<BurstResult> {
  const peer = await startScimPeer({ userGroups: false });
  try {
    return await burst(users, clients, (i) => postUser(`${peer.baseUrl}/Users`, peer.token, i));
  } finally {
    await peer.close();
  }
}

/**
 * Directory writes as Tenure's LDAP connector makes them for a create — the entry (inetOrgPerson with
 * uid, cn, sn, displayName, mail) under `ou=NAME` and its membership of group `cn=NAME-everyone` — from
 * `connections` bound connections, one write at a time on each.
 */
async function floorDirectory(
  slapd: Slapd,
  name: string,
  connections: number,
): Promise<{ write: (i: number) => Promise<void>; close: () => Promise<void> }> {
  const admin = await slapd.admin();
  await admin.add(`ou=${name},${SUFFIX}`, { objectClass: "organizationalUnit", ou: name });
  const group = `cn=${name}-everyone,ou=groups,${SUFFIX}`;
  await admin.add(group, { objectClass: "groupOfNames", cn: `${name}-everyone`, member: slapd.adminDn });
  await admin.unbind();
  const bound = await Promise.all(
    Array.from({ length: connections }, async () => {
      const client = new Client({ url: slapd.url });
      await client.bind(slapd.adminDn, slapd.adminPassword);
      return client;
    }),
  );
  const free = [...bound];
  return {
    async write(i) {
      const client = free.pop()!;
      try {
        const uid = `${name}${100000 + i}`;
        const dn = `uid=${uid},ou=${name},${SUFFIX}`;
        await client.add(dn, [
          new Attribute({ type: "objectClass", values: ["inetOrgPerson"] }),
          new Attribute({ type: "uid", values: [uid] }),
          new Attribute({ type: "cn", values: [`Person ${i}`] }),
          new Attribute({ type: "sn", values: [`Number${i}`] }),
          new Attribute({ type: "displayName", values: [`Person ${i}`] }),
          new Attribute({ type: "mail", values: [`person${100000 + i}@example.test`] }),
        ]);
        await client.modify(group, [
          new Change({ operation: "add", modification: new Attribute({ type: "member", values: [dn] }) }),
        ]);
      } finally {
        free.push(client);
      }
    },
    close: async () => {
      await Promise.all(bound.map((c) => c.unbind()));
    },
  };
}

/**
 * The directory writes of `users` creates (see floorDirectory) from `clients` connections at once,
 * into `ou=floor` and group `cn=floor-everyone` of `slapd`.
 */
export async function ldapFloor(slapd: Slapd, users: number, clients: number): Promise<BurstResult> {
  const directory = await floorDirectory(slapd, "floor", clients);
  try {
    return await burst(users, clients, async (i) => {
      await directory.write(i);
      return "ok";
    });
  } finally {
    await directory.close();
  }
}
