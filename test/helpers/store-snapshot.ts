import { expect } from "vitest";
import { queryEvents, verifyLedger } from "../../src/audit/ledger.js";
import type { Db } from "../../src/store/schema-types.js";

/**
 * What a run may write, row by row: identities (with their state and version), source records,
 * source runs, assignments, operations, account links, and the number of audit events. Two snapshots
 * are equal when the run changed none of it.
 */
export async function storeSnapshot(db: Db) {
  const rows = async (
    table: "identities" | "source_records" | "source_runs" | "assignments" | "operations" | "account_links",
  ) => (await db.selectFrom(table).selectAll().execute()).map((r) => JSON.stringify(r)).sort();
  const events = await db
    .selectFrom("audit_events")
    .select(db.fn.countAll<number>().as("n"))
    .executeTakeFirstOrThrow();
  return {
    identities: await rows("identities"),
    sourceRecords: await rows("source_records"),
    sourceRuns: await rows("source_runs"),
    assignments: await rows("assignments"),
    operations: await rows("operations"),
    accountLinks: await rows("account_links"),
    events: Number(events.n),
  };
}

/**
 * Asserts that nothing but a mass-change stop happened since `before`: the store is as it was, the
 * ledger has exactly one new event — `mass-change.stopped` for `planHash` — and the chain verifies.
 * Returns that event.
 */
export async function expectOnlyTheStop(
  db: Db,
  before: Awaited<ReturnType<typeof storeSnapshot>>,
  planHash: string,
) {
  const after = await storeSnapshot(db);
  expect({ ...after, events: before.events }).toEqual(before);
  expect(after.events).toBe(before.events + 1);
  const last = (await queryEvents(db, { limit: 100_000 })).at(-1);
  expect(last).toMatchObject({
    action: "mass-change.stopped",
    subject: `plan:${planHash}`,
    details: { planHash },
  });
  expect((await verifyLedger(db)).ok).toBe(true);
  return last!;
}
