import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import BetterSqlite3 from "better-sqlite3";
import { type CompiledQuery, Kysely, PostgresDialect, SqliteDialect } from "kysely";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { planned } from "../../test/fixtures/app-database.js";
import { freshPostgresUrl, POSTGRES_ADMIN_URL, postgresAvailable } from "../../test/helpers/databases.js";
import { accountLinkRepository, accountRepository } from "./account-repository.js";
import { openStore, type Store } from "./database.js";
import { identityRepository } from "./identity-repository.js";
import { operationRepository } from "./operation-repository.js";
import type { Database } from "./schema-types.js";
import { scimResourceRepository } from "./scim-resource-repository.js";

/**
 * Lookups every push makes, whose cost grew with the store (issue 19). These read the plans of the
 * statements the repositories send — on PostgreSQL the generic plan, the one a named statement
 * (pg-prepared.ts) keeps after its fifth run, made without the values and, on a store autovacuum has
 * not analysed, without statistics:
 * - which planned changes are queued already (openKeys): the partial unique index
 *   operations_open_key_uq serves it only when the query's state filter provably implies the index's,
 *   which states sent as parameters never do — the lookup scanned every operation ever queued;
 * - the identities of the push's source with its email: planned as `source = $1` through
 *   identities_source_id_idx (every identity of the source) until (source, email) had an index;
 * - the accounts, username links and SCIM holders of the people a push carries, by a list of keys:
 *   `system = $1 and username in (…)` used the unique index for `system = $1` alone — every account of
 *   the system read — until each key was looked up on its own (keyed-lookup.ts).
 */
const LOOKUPS = [
  {
    name: "a push's open-key lookup reads operations_open_key_uq",
    run: (db: Kysely<Database>) => operationRepository.openKeys(db, ["app:enable:u1", "app:grant:u1:staff"]),
    statement: /"idempotency_key" in/,
    index: "operations_open_key_uq",
    postgres: /Index Only Scan using operations_open_key_uq/,
  },
  {
    name: "a push's identity lookup by email reads identities_source_email_idx",
    run: (db: Kysely<Database>) =>
      identityRepository.listBySourceKeysOrEmails(
        db,
        "hr",
        ["E1"],
        ["ada@example.test", "p7@example.test", "p8@example.test"],
      ),
    // A grouped push looks up several emails, in a source holding every identity, not analysed.
    seed: (db: Kysely<Database>) =>
      identityRepository.upsertMany(
        db,
        Array.from({ length: 2_000 }, (_, i) => ({
          id: `person-${i}`,
          kind: "human" as const,
          source: "hr",
          sourceKey: `P${i}`,
          state: "active" as const,
          attributes: { email: `p${i}@example.test` },
          employment: 1,
          stateSince: "2026-03-02",
          createdAt: "2026-03-02T10:00:00.000Z",
          updatedAt: "2026-03-02T10:00:00.000Z",
          lastRecordId: null,
          previousAttributes: null,
          attributesChangedAt: null,
          // Only the email matters here: the rest of a person's attributes are left out.
        })) as never,
      ),
    statement: /"email" (in|= wanted)/,
    index: "identities_source_email_idx",
    postgres: /identities_source_email_idx[\s\S]*Index Cond: \(\(source = \$\d+\) AND \(email = /,
  },
  {
    name: "a SCIM User write's userName and person-key holders read both unique indexes",
    run: (db: Kysely<Database>) => scimResourceRepository.findUserHolders(db, "Ada.Lovelace", "E1"),
    // On an empty table PostgreSQL's costs tie and it may take the (type, id) index: planned with rows.
    seed: async (db: Kysely<Database>) => {
      const at = "2026-03-02T10:00:00.000Z";
      for (let i = 0; i < 2_000; i++) {
        await scimResourceRepository.insert(db, {
          id: `id-${i}`,
          type: "User",
          name: `user.${i}`,
          externalId: null,
          personKey: `P${i}`,
          version: 1,
          body: {},
          created: at,
          lastModified: at,
        });
      }
    },
    // Both lookups in one statement: a lone write's check is one round trip.
    statement: /"name_key" (in|= wanted)[\s\S]*union all[\s\S]*"person_key" (in|= wanted)/,
    // SQLite names the unique constraints' indexes sqlite_autoindex_…: its plan shows which columns.
    index: ["(type=? AND name_key=?)"],
    postgres:
      /Index Scan using scim_resources_name_uq[\s\S]*Index Cond: \(\(type = \$\d+\) AND \(name_key = wanted\.v\)\)/,
  },
  {
    name: "a push's account lookup reads accounts_system_username_uq for each username, however many the system has",
    run: (db: Kysely<Database>) =>
      accountRepository.findMany(db, [
        { system: "directory", username: "u1" },
        { system: "directory", username: "u2" },
      ]),
    // One system holds every account, and nothing was analysed: planned as `system = $1 and username in
    // (…)`, the index served `system = $1` only and every account of the system was read.
    seed: (db: Kysely<Database>) =>
      accountRepository.upsertMany(
        db,
        Array.from({ length: 2_000 }, (_, i) => ({
          system: "directory",
          nativeId: null,
          username: `u${i}`,
          identityId: null,
          enabled: true,
          attributes: {},
          entitlements: [],
          managedEntitlements: [],
          managed: true,
          lastSeenAt: null,
          lastUsedAt: null,
        })),
        "2026-03-02T10:00:00.000Z",
      ),
    statement: /from "accounts"/,
    index: ["(system=? AND username=?)"],
    postgres:
      /Index Scan using accounts_system_username_uq[\s\S]*Index Cond: \(\(system = \$\d+\) AND \(username = wanted\.v\)\)/,
  },
  {
    name: "a plan's taken-usernames lookup reads account_links_username_uq for each username",
    run: (db: Kysely<Database>) => accountLinkRepository.takenAmong(db, "directory", ["u1", "u2", "u3"]),
    seed: (db: Kysely<Database>) =>
      accountLinkRepository.insertMany(
        db,
        Array.from({ length: 2_000 }, (_, i) => ({
          identityId: `id-${i}`,
          system: "directory",
          username: `u${i}`,
        })),
        "2026-03-02T10:00:00.000Z",
      ),
    statement: /from "account_links"/,
    index: ["(system=? AND username=?)"],
    postgres:
      /Index (Only )?Scan using account_links_username_uq[\s\S]*Index Cond: \(\(system = \$\d+\) AND \(username = wanted\.v\)\)/,
  },
  {
    name: "a claim asks whether an earlier operation of the identity is open through operations_open_identity_idx",
    run: (db: Kysely<Database>) =>
      operationRepository.claimDue(db, {
        now: new Date("2026-03-02T11:00:00.000Z"),
        limit: 4,
        workerId: "w1",
        leaseSeconds: 60,
      }),
    // One person's long history in one system: 2,000 grants and revocations over the years, all but the
    // last three finished. Through operations_identity_idx every claim read them all, each from the table.
    seed: async (db: Kysely<Database>) => {
      const at = new Date("2026-03-02T10:00:00.000Z");
      await operationRepository.enqueue(
        db,
        Array.from({ length: 2_000 }, (_, i) =>
          planned({ system: "app", kind: "grant", identityId: "id-1", username: "u1", entitlement: `e${i}` }),
        ),
        { now: at, maxAttemptsFor: () => 3 },
      );
      await db
        .updateTable("operations")
        .set({ state: "succeeded", finished_at: at.toISOString() })
        .where("entitlement", "not in", ["e1997", "e1998", "e1999"])
        .execute();
    },
    statement: /^update "operations"/,
    index: ["operations_open_identity_idx"],
    // Probed per operation walked, by its identity and system: not every open operation materialised.
    postgres:
      /Index Scan using operations_open_identity_idx on operations e\b[^\n]*\n\s+Index Cond: \(\(identity_id = o\.identity_id\)/,
  },
];

function logged(dialect: PostgresDialect | SqliteDialect, sent: CompiledQuery[]) {
  return new Kysely<Database>({
    dialect,
    log: (event) => {
      if (event.level === "query") sent.push(event.query);
    },
  });
}

/** The one statement `run` sends that matches `statement`. */
async function sentBy(
  db: Kysely<Database>,
  sent: CompiledQuery[],
  lookup: (typeof LOOKUPS)[number],
): Promise<CompiledQuery> {
  if ("seed" in lookup && lookup.seed !== undefined) await lookup.seed(db);
  sent.length = 0;
  await lookup.run(db);
  const matching = sent.filter((q) => lookup.statement.test(q.sql));
  expect(matching).toHaveLength(1);
  return matching[0]!;
}

describe("push lookups' plans (SQLite)", () => {
  let dir: string;
  let store: Store;
  let sqlite: BetterSqlite3.Database;
  let db: Kysely<Database>;
  const sent: CompiledQuery[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "tenure-push-plans-"));
    const file = path.join(dir, "tenure.db");
    store = await openStore(`sqlite:${file}`);
    sqlite = new BetterSqlite3(file);
    db = logged(new SqliteDialect({ database: sqlite }), sent);
  });
  afterAll(async () => {
    await db.destroy();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  it.each(LOOKUPS)("$name", async (lookup) => {
    const query = await sentBy(db, sent, lookup);
    const rows = sqlite.prepare(`explain query plan ${query.sql}`).all(...(query.parameters as unknown[]));
    const plan = (rows as Array<{ detail: string }>).map((r) => r.detail).join("\n");
    for (const index of [lookup.index].flat()) expect(plan).toContain(index);
  });
});

describe.skipIf(!(await postgresAvailable()))("push lookups' generic plans (PostgreSQL)", () => {
  let schema: { url: string; drop: () => Promise<void> };
  let store: Store;
  let pool: pg.Pool;
  let db: Kysely<Database>;
  const sent: CompiledQuery[] = [];

  beforeAll(async () => {
    schema = await freshPostgresUrl();
    store = await openStore(schema.url);
    const name = new URL(schema.url).searchParams.get("schema")!;
    pool = new pg.Pool({ connectionString: POSTGRES_ADMIN_URL, options: `-c search_path=${name}`, max: 1 });
    db = logged(new PostgresDialect({ pool }), sent);
  });
  afterAll(async () => {
    await db.destroy();
    await store.close();
    await schema.drop();
  });

  it.each(LOOKUPS)("$name", async (lookup) => {
    const query = await sentBy(db, sent, lookup);
    const client = await pool.connect();
    try {
      await client.query("set plan_cache_mode = force_generic_plan");
      await client.query(`prepare lookup as ${query.sql}`);
      // An array goes as an array literal (the tests' values hold no commas, quotes or braces).
      const literal = (p: unknown) => (Array.isArray(p) ? `{${p.join(",")}}` : String(p));
      const values = query.parameters
        .map((p) => (p === null ? "null" : `'${literal(p).replaceAll("'", "''")}'`))
        .join(", ");
      const { rows } = await client.query(`explain execute lookup(${values})`);
      const plan = rows.map((r: { "QUERY PLAN": string }) => r["QUERY PLAN"]).join("\n");
      if (typeof lookup.index === "string") expect(plan).toContain(lookup.index);
      expect(plan).toMatch(lookup.postgres);
      expect(plan).not.toContain("Seq Scan");
    } finally {
      await client.query("deallocate all");
      await client.query("reset plan_cache_mode");
      client.release();
    }
  });
});
