import { describe, expect, it } from "vitest";
import { storeFactories } from "../../test/helpers/databases.js";
import { up } from "./migrations/2026-12-06T14-00-source-runs-counts.js";

/**
 * Migration 2026-12-06T14-00 rewrites the run summaries earlier versions wrote with every identity,
 * change and finding of the run (70 MB for 100,000 people) to the counts a run stores now; the
 * readers (the metrics of the last run per source) see the same counts.
 */
describe.each(await storeFactories())("source_runs counts migration on %s", (_name, makeStore) => {
  it("drops identities and changes and counts the findings, leaving counts-only rows as they are", async () => {
    const store = await makeStore();
    try {
      const old = {
        source: "hr",
        dryRun: false,
        rowsRead: 3,
        recordsValid: 2,
        rowsSkipped: 1,
        findings: [
          { row: 2, code: "malformed_email" },
          { row: 2, code: "unknown_manager" },
        ],
        created: 2,
        updated: 0,
        rehired: 0,
        terminated: 0,
        transitions: {},
        unchanged: 0,
        auditEvents: 2,
        identities: [{ id: "i1", attributes: { familyName: "Lovelace" } }],
        changes: [{ id: "i1", key: "E1", name: "Ada Lovelace", from: null, to: "active", actions: [] }],
      };
      const current = { ...old, identities: undefined, changes: undefined, findings: 0 };
      const row = (id: string, summary: unknown) => ({
        id,
        source: "hr",
        started_at: "2026-12-01T10:00:00.000Z",
        finished_at: `2026-12-0${id === "old" ? 1 : 2}T10:00:00.000Z`,
        dry_run: 0,
        summary: JSON.stringify(summary),
      });
      await store.db
        .insertInto("source_runs")
        .values([row("old", old), row("new", current)])
        .execute();
      const before = await store.db
        .selectFrom("source_runs")
        .select("summary")
        .where("id", "=", "new")
        .executeTakeFirstOrThrow();
      await up(store.db);
      const rows = await store.db.selectFrom("source_runs").select(["id", "summary"]).orderBy("id").execute();
      const migrated = JSON.parse(rows.find((r) => r.id === "old")!.summary) as Record<string, unknown>;
      const { identities: _i, changes: _c, ...counts } = old;
      expect(migrated).toEqual({ ...counts, findings: 2 });
      expect(rows.find((r) => r.id === "old")!.summary).not.toContain("Lovelace");
      expect(JSON.parse(rows.find((r) => r.id === "new")!.summary)).toEqual(JSON.parse(before.summary));
    } finally {
      await store.dispose();
    }
  });
});
