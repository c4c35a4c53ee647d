/**
 * SCIM writes for different people that arrive together are pushed to the source as one push
 * (api/scim/scim-ingest.ts, shared/group-commit.ts): one transaction, one run, one ledger append for
 * the group. Each write still gets its own answer: a person data quality refuses is refused alone
 * while the others are stored, and when the group's commit fails every write is pushed again on its
 * own, so only the write that cannot be stored fails — on SQLite and PostgreSQL, with a connected
 * system.
 */
import { sql } from "kysely";
import { afterEach, describe, expect, it, vi } from "vitest";
import { queryEvents, verifyLedger } from "../../src/audit/ledger.js";
import type { Db } from "../../src/store/schema-types.js";
import { scimResourceRepository } from "../../src/store/scim-resource-repository.js";
import { storeFactories } from "../helpers/databases.js";
import { type ScimFixture, scimCall, scimFixture } from "../helpers/scim-fixture.js";

const person = (name: string, email = `${name}@example.test`) => ({
  schemas: ["urn:ietf:params:scim:schemas:core:2.0:User"],
  userName: name,
  externalId: `E-${name}`,
  active: true,
  name: { givenName: name.split(".")[0], familyName: name.split(".")[1] },
  emails: [{ value: email, type: "work", primary: true }],
});

const NAMES = Array.from({ length: 12 }, (_, i) => `p${i}.person${String.fromCharCode(97 + i)}`);

async function count(db: Db, table: "identities" | "scim_resources" | "source_runs" | "operations") {
  return Number(
    (
      await db
        .selectFrom(table)
        .select((eb) => eb.fn.countAll().as("n"))
        .executeTakeFirstOrThrow()
    ).n,
  );
}

/** Makes the insert of the User named `name` fail, as a constraint of the store's own would. */
async function refuseUser(db: Db, kind: string, name: string): Promise<void> {
  if (kind === "sqlite") {
    await sql`create trigger refuse_user before insert on scim_resources when new.name = ${sql.lit(name)}
      begin select raise(abort, 'refused by the test'); end`.execute(db);
  } else {
    await sql`create function refuse_user() returns trigger language plpgsql as $$ begin
      if new.name = ${sql.lit(name)} then raise exception 'refused by the test'; end if;
      return new; end $$`.execute(db);
    await sql`create trigger refuse_user before insert on scim_resources
      for each row execute function refuse_user()`.execute(db);
  }
}

let fixture: ScimFixture | undefined;
afterEach(async () => {
  await fixture?.dispose();
  fixture = undefined;
});

describe.each(await storeFactories())("SCIM creates arriving together on %s", (_kind, makeStore) => {
  const post = (f: ScimFixture, body: unknown, requestId?: string) =>
    scimCall(f, "POST", "/Users", body, requestId === undefined ? {} : { "x-request-id": requestId });

  it("are pushed as fewer runs than writes, each answered on its own; a refused person is refused alone", async () => {
    fixture = await scimFixture(makeStore, { withSystem: true });
    const f = fixture;
    const eventsBefore = (await queryEvents(f.store.db)).length;
    const bodies = NAMES.map((name, i) => (i === 5 ? person(name, "mal-at-example") : person(name)));
    const answers = await Promise.all(bodies.map((b, i) => post(f, b, `request-${i}`)));

    expect(answers.map((a) => a.statusCode)).toEqual(NAMES.map((_, i) => (i === 5 ? 400 : 201)));
    expect(answers[5]!.json().detail).toContain('email "mal-at-example"');
    for (const [i, a] of answers.entries()) if (i !== 5) expect(a.json().userName).toBe(NAMES[i]);
    expect(await count(f.store.db, "identities")).toBe(11);
    expect(await count(f.store.db, "scim_resources")).toBe(11);
    // Each person's account and group membership.
    expect(await count(f.store.db, "operations")).toBe(22);
    // Grouped: fewer pushes (runs) than people. Without grouping there is one run per write.
    expect(await count(f.store.db, "source_runs")).toBeLessThan(11);
    const events = (await queryEvents(f.store.db)).slice(eventsBefore);
    const created = events.filter((e) => e.action === "scim.user.created");
    expect(created.map((e) => e.details.name).sort()).toEqual(NAMES.filter((_, i) => i !== 5).sort());
    expect(events.filter((e) => e.action === "identity.created")).toHaveLength(11);
    // Each person's operations carry the trace id of the request that pushed them, not the group leader's.
    const traced = await f.store.db
      .selectFrom("operations")
      .innerJoin("identities", "identities.id", "operations.identity_id")
      .select(["identities.source_key", "operations.trace_id"])
      .execute();
    expect(traced).toHaveLength(22);
    for (const row of traced) {
      expect(row.trace_id).toBe(`request-${NAMES.indexOf(row.source_key.slice(2))}`);
    }
    expect((await verifyLedger(f.store.db)).ok).toBe(true);
  });

  it("read the names and keys they claim together, store the new Users together, and still refuse a name claimed twice in the burst or held before", async () => {
    fixture = await scimFixture(makeStore, { withSystem: true });
    const f = fixture;
    expect((await post(f, person("held.before"))).statusCode).toBe(201);
    const reads = vi.spyOn(scimResourceRepository, "findUsersHolders");
    const singleInserts = vi.spyOn(scimResourceRepository, "insert");
    try {
      // NAMES[3] twice (the second from another email), and a name held before the burst.
      const bodies = [
        ...NAMES.map((name) => person(name)),
        person(NAMES[3]!, "twice@example.test"),
        person("held.before", "again@example.test"),
      ];
      const answers = await Promise.all(bodies.map((b) => post(f, b)));
      const codes = answers.map((a) => a.statusCode);
      expect(codes.slice(0, 13).filter((c) => c === 201)).toHaveLength(12);
      // One of the two writes claiming NAMES[3] won; the other was told who holds the name.
      const [loser] = [answers[3]!, answers[12]!].filter((a) => a.statusCode === 409);
      expect(loser?.json().detail).toContain(`userName "${NAMES[3]}" is taken`);
      expect(codes[13]).toBe(409);
      expect(await count(f.store.db, "scim_resources")).toBe(13);
      // Fewer holders' reads than writes: the writes in hand read together.
      const statements = reads.mock.calls.length;
      expect(statements).toBeGreaterThan(0);
      expect(statements).toBeLessThan(bodies.length);
      // The new Users of a group are stored by one insert: fewer single inserts than Users stored.
      expect(singleInserts.mock.calls.length).toBeLessThan(12);
    } finally {
      reads.mockRestore();
      singleInserts.mockRestore();
    }
  });

  it("push each write again on its own when the group's commit fails: only the write that cannot be stored fails", async () => {
    fixture = await scimFixture(makeStore, { withSystem: true });
    const f = fixture;
    await refuseUser(f.store.db, f.store.kind, NAMES[3]!);
    const answers = await Promise.all(NAMES.map((name) => post(f, person(name))));

    expect(answers.map((a) => a.statusCode)).toEqual(NAMES.map((_, i) => (i === 3 ? 500 : 201)));
    expect(await count(f.store.db, "identities")).toBe(11);
    expect(await count(f.store.db, "scim_resources")).toBe(11);
    expect(await count(f.store.db, "operations")).toBe(22);
    const names = (await f.store.db.selectFrom("identities").select("source_key").execute()).map(
      (r) => r.source_key,
    );
    expect(names).not.toContain(`E-${NAMES[3]}`);
    expect((await verifyLedger(f.store.db)).ok).toBe(true);
  });

  it("are judged alone by mass-change protection: a group past the threshold is pushed write by write, no stop recorded", async () => {
    // 8 of 10 people lose their account at once: past the threshold together, one each is not.
    fixture = await scimFixture(makeStore, {
      withSystem: true,
      massChangeThreshold: { percent: 10, minimum: 2 },
    });
    const f = fixture;
    const ids: string[] = [];
    for (const name of NAMES.slice(0, 10)) {
      const created = await post(f, { ...person(name), userType: "Employee" });
      expect(created.statusCode, created.body).toBe(201);
      ids.push(created.json().id);
    }
    const eventsBefore = (await queryEvents(f.store.db)).length;
    const answers = await Promise.all(
      ids.slice(0, 8).map((id) =>
        scimCall(f, "PATCH", `/Users/${id}`, {
          schemas: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
          Operations: [{ op: "replace", path: "userType", value: "Intern" }],
        }),
      ),
    );
    expect(answers.map((a) => a.statusCode)).toEqual(ids.slice(0, 8).map(() => 204));
    const actions = (await queryEvents(f.store.db)).slice(eventsBefore).map((e) => e.action);
    expect(actions).not.toContain("mass-change.stopped");
    expect(actions.filter((a) => a === "scim.user.patched")).toHaveLength(8);
    const removals = await f.store.db
      .selectFrom("operations")
      .select("identity_id")
      .where("kind", "in", ["disable", "delete"])
      .execute();
    // Each of the 8 lost the account: its removal queued, none stopped.
    expect(new Set(removals.map((r) => r.identity_id)).size).toBe(8);
    expect((await verifyLedger(f.store.db)).ok).toBe(true);
  });
});
