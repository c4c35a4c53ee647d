/**
 * A SCIM create is one commit: the person's identity and source record, the User resource, the
 * operations that provision them and their audit events are written in one transaction (one ledger
 * append), so a push that fails part-way leaves nothing behind — on SQLite and PostgreSQL, with a
 * connected system and without.
 */
import { sql } from "kysely";
import { afterEach, describe, expect, it } from "vitest";
import { queryEvents, verifyLedger } from "../../src/audit/ledger.js";
import type { Db } from "../../src/store/schema-types.js";
import { storeFactories } from "../helpers/databases.js";
import { type ScimFixture, scimCall, scimFixture } from "../helpers/scim-fixture.js";

const USER = {
  schemas: ["urn:ietf:params:scim:schemas:core:2.0:User"],
  userName: "ada.lovelace",
  externalId: "E1",
  active: true,
  name: { givenName: "Ada", familyName: "Lovelace" },
  emails: [{ value: "ada@example.test", type: "work", primary: true }],
};

/** Makes every insert into `table` fail, as a full disk or a lost connection would at that write. */
async function refuseInserts(db: Db, kind: string, table: string): Promise<void> {
  if (kind === "sqlite") {
    await sql`create trigger refuse_insert before insert on ${sql.table(table)}
      begin select raise(abort, 'refused by the test'); end`.execute(db);
  } else {
    await sql`create function refuse_insert() returns trigger language plpgsql
      as $$ begin raise exception 'refused by the test'; end $$`.execute(db);
    await sql`create trigger refuse_insert before insert on ${sql.table(table)}
      for each row execute function refuse_insert()`.execute(db);
  }
}

async function allowInserts(db: Db, kind: string, table: string): Promise<void> {
  if (kind === "sqlite") await sql`drop trigger refuse_insert`.execute(db);
  else await sql`drop trigger refuse_insert on ${sql.table(table)}`.execute(db);
}

async function counts(db: Db) {
  const count = async (table: "identities" | "source_records" | "scim_resources" | "operations") =>
    Number(
      (
        await db
          .selectFrom(table)
          .select((eb) => eb.fn.countAll().as("n"))
          .executeTakeFirstOrThrow()
      ).n,
    );
  return {
    identities: await count("identities"),
    records: await count("source_records"),
    resources: await count("scim_resources"),
    operations: await count("operations"),
  };
}

let fixture: ScimFixture | undefined;
afterEach(async () => {
  await fixture?.dispose();
  fixture = undefined;
});

describe.each(await storeFactories())("a SCIM create on %s", (kind, makeStore) => {
  it.each([
    ["with a connected system, when its operations cannot be queued", true, "operations"],
    ["without a system, when its resource cannot be stored", false, "scim_resources"],
  ] as const)("writes nothing of the person %s", async (_what, withSystem, failing) => {
    fixture = await scimFixture(makeStore, { withSystem });
    const f = fixture;
    const { store } = f;
    const post = () => scimCall(f, "POST", "/Users", USER);
    const eventsBefore = (await queryEvents(store.db)).length;

    await refuseInserts(store.db, kind, failing);
    const refused = await post();
    expect(refused.statusCode, refused.body).toBe(500);
    expect(await counts(store.db)).toEqual({ identities: 0, records: 0, resources: 0, operations: 0 });
    // Only the first contact's read of the system, which comes before the push writes anything.
    const after = (await queryEvents(store.db)).slice(eventsBefore).map((e) => e.action);
    expect(after).toEqual(withSystem ? ["reconcile.completed"] : []);

    // The client's retry finds nothing half-written in its way.
    await allowInserts(store.db, kind, failing);
    const created = await post();
    expect(created.statusCode, created.body).toBe(201);
    expect(await counts(store.db)).toEqual({
      identities: 1,
      records: 1,
      resources: 1,
      operations: withSystem ? 2 : 0,
    });
    const actions = (await queryEvents(store.db)).slice(eventsBefore).map((e) => e.action);
    expect(actions).toEqual(expect.arrayContaining(["identity.created", "scim.user.created"]));
    expect((await verifyLedger(store.db)).ok).toBe(true);
  });
});
