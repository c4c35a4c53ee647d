import { writeFileSync } from "node:fs";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { storeFactories, type TestStore } from "../../test/helpers/databases.js";
import { HR_HEADER, tempDir, testConfig, writeHrCsv } from "../../test/helpers/workspace.js";
import { queryEvents, verifyLedger } from "../audit/ledger.js";
import type { CsvSourceConfig } from "../policy/config-types.js";
import { InvalidInputError, MassChangeError } from "../shared/errors.js";
import { identityRepository } from "../store/identity-repository.js";
import { runSync } from "./run-sync.js";
import { type SyncOptions, syncSource } from "./sync.js";

const at = (day: string) => new Date(`${day}T10:00:00Z`);
/** More rows than one slice of the streamed import (5,000), so a run spans several writes. */
const N = 12_001;
const person = (i: number) =>
  `E${i},Given${i},Family${i},p${i}@example.test,Ops,Staff,${i === 0 ? "" : "E0"},employee,active,2026-01-01,,`;
const people = (n: number) => Array.from({ length: n }, (_, i) => person(i));

describe.each(await storeFactories())("streamed CSV import on %s", (_name, makeStore) => {
  let store: TestStore;
  let dir: string;
  let disposeDir: () => Promise<void>;

  beforeEach(async () => {
    store = await makeStore();
    ({ dir, dispose: disposeDir } = await tempDir());
  });
  afterEach(async () => {
    await store.dispose();
    await disposeDir();
  });

  async function sync(
    rows: string[],
    day: string,
    source: Partial<CsvSourceConfig> = {},
    extra: Partial<SyncOptions> = {},
  ) {
    await writeHrCsv(dir, rows);
    const config = testConfig(dir, source);
    return syncSource(store, config, config.sources.hr!, { now: at(day), actor: "test", ...extra });
  }
  async function eventCount(action?: string): Promise<number> {
    let q = store.db.selectFrom("audit_events").select((eb) => eb.fn.countAll().as("n"));
    if (action !== undefined) q = q.where("action", "=", action);
    return Number((await q.executeTakeFirstOrThrow()).n);
  }
  async function snapshot() {
    const identities = await store.db
      .selectFrom("identities")
      .select(["id", "state", "updated_at"])
      .orderBy("id")
      .execute();
    const records = await store.db
      .selectFrom("source_records")
      .select((eb) => eb.fn.countAll().as("n"))
      .executeTakeFirstOrThrow();
    const runs = await store.db
      .selectFrom("source_runs")
      .select((eb) => eb.fn.countAll().as("n"))
      .executeTakeFirstOrThrow();
    return {
      identities,
      records: Number(records.n),
      runs: Number(runs.n),
      events: await eventCount(),
    };
  }

  it("imports a file of several slices with one event each; a real run keeps counts, not its identities", async () => {
    const first = await sync(people(N), "2026-03-01");
    expect(first).toMatchObject({ rowsRead: N, recordsValid: N, created: N, auditEvents: N, rowsSkipped: 0 });
    // The result of a real run grows with nothing: its changes are in the tables and the ledger.
    expect(first.identities).toEqual([]);
    expect(first.changes).toEqual([]);
    expect(await identityRepository.countByState(store.db)).toEqual({ active: N });
    expect(await eventCount("identity.created")).toBe(N);
    expect((await verifyLedger(store.db)).ok).toBe(true);

    const again = await sync(people(N), "2026-03-01");
    expect(again).toMatchObject({ created: 0, updated: 0, terminated: 0, unchanged: N });
    const dry = await sync(
      [...people(N - 1), "E99999,New,Person,new@example.test,Ops,Staff,,employee,active,2026-01-01,,"],
      "2026-03-01",
      {},
      { dryRun: true },
    );
    // A dry run lists what it would do, the leaver (missingMeans ignore: nobody) and the joiner.
    expect(dry.changes.map((c) => c.key)).toEqual(["E99999"]);
  });

  it("a run stopped by mass-change protection after writing slices leaves nothing but the stop, until confirmed", async () => {
    await sync(people(N), "2026-03-01", { missingMeans: "terminate" });
    const before = await snapshot();
    // Slice one changes a person (written, then rolled back); 6,001 people are missing.
    const kept = people(6_000);
    kept[1] = kept[1]!.replace("Ops,Staff", "Ops,Lead");
    const err = await sync(kept, "2026-03-02", { missingMeans: "terminate" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MassChangeError);
    expect((err as MassChangeError).message).toContain(`terminate 6001 of ${N}`);
    const after = await snapshot();
    expect({ ...after, events: after.events - 1 }).toEqual(before);
    expect(await eventCount("mass-change.stopped")).toBe(1);

    const planHash = (err as MassChangeError).planHash;
    const ok = await sync(kept, "2026-03-02", { missingMeans: "terminate" }, { confirmMassChange: planHash });
    expect(ok).toMatchObject({ terminated: 6_001, updated: 1 });
    expect(await identityRepository.countByState(store.db)).toEqual({ active: 6_000, terminated: 6_001 });
    expect((await queryEvents(store.db, { action: "sync.mass_change_confirmed" })).length).toBe(1);
    expect((await verifyLedger(store.db)).ok).toBe(true);
  });

  it("refuses a file changed between its two reads, after slices were written, changing nothing", async () => {
    await sync(people(100), "2026-03-01");
    const before = await snapshot();
    const path = await writeHrCsv(dir, people(N));
    const config = testConfig(dir);
    // The first read has checked the file; a row of the third slice is replaced before the second read.
    const changed = people(N);
    changed[11_000] = "X1,Someone,Else,x1@example.test,Ops,Staff,,employee,active,2026-01-01,,";
    const err = await syncSource(store, config, config.sources.hr!, {
      now: at("2026-03-02"),
      actor: "test",
      onProgress: (p) => {
        if (p.phase === "read" && p.done === N)
          writeFileSync(path, `${[HR_HEADER, ...changed].join("\n")}\n`);
      },
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidInputError);
    expect((err as Error).message).toMatch(
      /changed while it was imported \(row 11001\); nothing was written/,
    );
    expect(await snapshot()).toEqual(before);
  });

  it("tenure sync streams a lone CSV source with no systems, with its mass-change stop and dry-run hash", async () => {
    const config = testConfig(dir, { missingMeans: "terminate" });
    await writeHrCsv(dir, people(N));
    const first = await runSync(store, config, { now: at("2026-03-01"), actor: "test" });
    expect(first.sources[0]).toMatchObject({ created: N, identities: [] });
    await writeHrCsv(dir, people(10));
    const dry = await runSync(store, config, { now: at("2026-03-02"), actor: "test", dryRun: true });
    expect(dry.massChange.exceeded).toEqual([
      { kind: "source", name: "hr", disable: N - 10, delete: 0, total: N },
    ]);
    const err = await runSync(store, config, { now: at("2026-03-02"), actor: "test" }).catch(
      (e: unknown) => e,
    );
    expect((err as MassChangeError).planHash).toBe(dry.massChange.planHash);
    const ok = await runSync(store, config, {
      now: at("2026-03-02"),
      actor: "test",
      confirmMassChange: dry.massChange.planHash,
    });
    expect(ok.sources[0]!.terminated).toBe(N - 10);
  });
});
