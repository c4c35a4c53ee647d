/**
 * The floors of the SCIM burst (bench/scim-burst.bench.ts), each driven by the same clients as Tenure
 * in the same run, so every figure is a ratio:
 * - a bare Fastify server whose POST /Users inserts the body into one table of SQLite (better-sqlite3,
 *   WAL, one prepared statement) or PostgreSQL (pg pool of 10) and answers 201: what an HTTP endpoint
 *   with a store costs here, with no SCIM, no lifecycle and no audit;
 * - scimmy (the SCIM server our connector tests run against: test/helpers/scim-peer.ts), storing in
 *   memory: another SCIM server's cost of the same requests;
 * - a bare ldapts script making the directory writes a create makes (add the entry, add it to the
 *   group) with as many connections as there are clients: what the directory itself allows.
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

/** The bare insert endpoint over SQLite (a file in `dir`) or PostgreSQL (`postgresUrl`, its own schema). */
export async function bareInsertFloor(
  store: "sqlite" | "postgres",
  options: { dir: string; postgresUrl: string; users: number; clients: number },
): Promise<BurstResult> {
  const app = Fastify({ logger: false });
  app.addContentTypeParser("application/scim+json", { parseAs: "string" }, (_req, body, done) => {
    try {
      done(null, JSON.parse(String(body)));
    } catch (err) {
      done(err as Error, undefined);
    }
  });
  let insert: (row: [string, string, string, string]) => Promise<void>;
  let close: () => Promise<void>;
  if (store === "sqlite") {
    const db = new BetterSqlite3(path.join(options.dir, "floor.db"));
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = NORMAL");
    db.exec("create table users (id text primary key, user_name text unique, external_id text, json text)");
    const statement = db.prepare("insert into users values (?, ?, ?, ?)");
    insert = async (row) => {
      statement.run(...row);
    };
    close = async () => {
      db.close();
    };
  } else {
    const schema = `bench_floor_${process.pid}`;
    const pool = new pg.Pool({ connectionString: options.postgresUrl, max: 10 });
    await pool.query(`drop schema if exists ${schema} cascade; create schema ${schema}`);
    await pool.query(
      `create table ${schema}.users (id text primary key, user_name text unique, external_id text, json text)`,
    );
    insert = async (row) => {
      await pool.query(`insert into ${schema}.users values ($1, $2, $3, $4)`, row);
    };
    close = async () => {
      await pool.query(`drop schema ${schema} cascade`);
      await pool.end();
    };
  }
  app.post("/Users", async (request, reply) => {
    const body = request.body as { userName: string; externalId: string };
    const id = crypto.randomUUID();
    await insert([id, body.userName, body.externalId, JSON.stringify(body)]);
    return reply.code(201).send({ ...body, id });
  });
  const address = await app.listen({ host: "127.0.0.1", port: 0 });
  try {
    return await burst(options.users, options.clients, (i) => postUser(`${address}/Users`, "none", i));
  } finally {
    await app.close();
    await close();
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
 * The directory writes of `users` creates — the entry (as Tenure's LDAP connector writes it:
 * inetOrgPerson with uid, cn, sn, displayName, mail) and its membership of one group — from `clients`
 * connections at once, into `ou=floor` and group `cn=floor-everyone` of `slapd`.
 */
export async function ldapFloor(slapd: Slapd, users: number, clients: number): Promise<BurstResult> {
  const admin = await slapd.admin();
  await admin.add(`ou=floor,${SUFFIX}`, { objectClass: "organizationalUnit", ou: "floor" });
  const group = `cn=floor-everyone,ou=groups,${SUFFIX}`;
  await admin.add(group, { objectClass: "groupOfNames", cn: "floor-everyone", member: slapd.adminDn });
  await admin.unbind();
  const connections = await Promise.all(
    Array.from({ length: clients }, async () => {
      const client = new Client({ url: slapd.url });
      await client.bind(slapd.adminDn, slapd.adminPassword);
      return client;
    }),
  );
  const free = [...connections];
  try {
    return await burst(users, clients, async (i) => {
      const client = free.pop()!;
      try {
        const uid = `floor${100000 + i}`;
        const dn = `uid=${uid},ou=floor,${SUFFIX}`;
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
        return "ok";
      } finally {
        free.push(client);
      }
    });
  } finally {
    await Promise.all(connections.map((c) => c.unbind()));
  }
}
