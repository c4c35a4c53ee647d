import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeEvidencePack } from "../../src/workflows/evidence-pack.js";
import { parsePeriod } from "../../src/workflows/evidence-period.js";
import { runReport } from "../../src/workflows/report-registry.js";
import { type ApiFixture, apiFixture, bearer } from "../helpers/api-fixture.js";
import { storeFactories } from "../helpers/databases.js";

/** Reports of a period refuse a ledger that does not verify, naming the first broken event; the pack holds only the verdict. */
describe.each(await storeFactories())("reports over a tampered ledger on %s", (_kind, makeStore) => {
  let f: ApiFixture;
  let edited = 0;

  beforeAll(async () => {
    f = await apiFixture(makeStore);
    const row = await f.store.db
      .selectFrom("audit_events")
      .select(["seq"])
      .where("action", "=", "identity.created")
      .orderBy("seq")
      .executeTakeFirstOrThrow();
    edited = Number(row.seq);
    // Someone rewrites history: who was created, with the hash left as it was.
    await f.store.db
      .updateTable("audit_events")
      .set({ details: '{"attributes":{},"reason":"forged","state":"active"}' })
      .where("seq", "=", edited)
      .execute();
  });
  afterAll(() => f?.dispose());

  it("refuses every report of a period, naming the edited event, over the API too", async () => {
    const now = new Date("2026-03-05T00:00:00Z");
    for (const name of ["leavers", "access-changes", "campaigns"]) {
      await expect(runReport(f.store, f.config, name, { now }), name).rejects.toThrow(
        new RegExp(`does not verify at event ${edited}:`),
      );
    }
    const api = await f.app.inject({
      method: "GET",
      url: "/api/reports/leavers",
      headers: bearer(f.tokenFor.auditor),
    });
    expect(api.statusCode).toBe(409);
    expect(api.json().error.code).toBe("ledger_broken");
    // A report of the present reads no ledger: it still answers.
    expect((await runReport(f.store, f.config, "orphan-accounts", { now })).name).toBe("orphan-accounts");
  });

  it("writes a pack holding only the failed verification", async () => {
    const out = await mkdtemp(path.join(os.tmpdir(), "tenure-pack-tampered-"));
    try {
      const pack = await writeEvidencePack(f.store, f.config, {
        period: parsePeriod("2026-03"),
        out,
        now: new Date(),
      });
      expect(pack.ledger).toMatchObject({ ok: false });
      expect(pack.files.filter((x) => x.file.startsWith("reports/"))).toEqual([]);
      expect(pack.alerts[0]).toContain(`verification failed at event ${edited}`);
      expect(await readFile(path.join(out, "INDEX.md"), "utf8")).toContain("VERIFICATION FAILED");
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  });
});
