import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { storeFactories, type TestStore } from "../../test/helpers/databases.js";
import { tempDir, testConfig, writeHrCsv } from "../../test/helpers/workspace.js";
import { queryEvents, verifyLedger } from "../audit/ledger.js";
import type { Identity } from "../domain/identity-types.js";
import type { CsvSourceConfig, TenureConfig } from "../policy/config-types.js";
import { InvalidInputError, MassChangeError, PlanChangedError } from "../shared/errors.js";
import { readSource } from "../sources/source-registry.js";
import { identityRepository } from "../store/identity-repository.js";
import { knownPerson, planSourceRun, syncSource, writeSourceRun } from "./sync.js";

const at = (day: string) => new Date(`${day}T10:00:00Z`);

// employeeId,givenName,familyName,email,department,title,managerId,employmentType,status,startDate,endDate,terminationDate
const ADA = "E1,Ada,Lovelace,ada@example.test,Engineering,Engineer,,employee,active,2026-01-05,,";
const GRACE = "E2,Grace,Hopper,grace@example.test,Engineering,Lead,E1,employee,active,2026-02-01,,";
const ZOE = "E3,Zoë,O'Brien-Łukasik,zoe@example.test,Finance,Accountant,E1,employee,active,2026-02-01,,";

describe.each(await storeFactories())("sync on %s", (_name, makeStore) => {
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

  async function sync(rows: string[], day: string, source: Partial<CsvSourceConfig> = {}, extra = {}) {
    await writeHrCsv(dir, rows);
    const config: TenureConfig = testConfig(dir, source);
    return syncSource(store, config, config.sources.hr!, { now: at(day), actor: "test", ...extra });
  }
  async function byKey(key: string): Promise<Identity> {
    const all = await identityRepository.listBySource(store.db, "hr");
    const found = all.find((i) => i.sourceKey === key);
    if (found === undefined) throw new Error(`no identity ${key}`);
    return found;
  }

  it("creates joiners, keeps names byte-for-byte, and writes one audit event each", async () => {
    const r = await sync([ADA, GRACE, ZOE], "2026-03-01");
    expect(r.created).toBe(3);
    const zoe = await byKey("E3");
    expect(zoe.attributes.givenName).toBe("Zoë");
    expect(zoe.attributes.familyName).toBe("O'Brien-Łukasik");
    expect(zoe.state).toBe("active");
    const events = await queryEvents(store.db, { subject: zoe.id });
    expect(events.map((e) => e.action)).toEqual(["identity.created"]);
    expect(events[0]?.details).toMatchObject({ source: "hr", row: 3, recordId: zoe.lastRecordId });
    expect((await verifyLedger(store.db)).ok).toBe(true);
  });

  it("records the run's counts in source_runs, not its identities (a row that grew with the organisation)", async () => {
    await sync([ADA, GRACE, ZOE], "2026-03-01");
    const runs = await store.db.selectFrom("source_runs").select(["source", "summary"]).execute();
    expect(runs).toHaveLength(1);
    const summary = JSON.parse(runs[0]!.summary) as Record<string, unknown>;
    expect(summary).toMatchObject({ source: "hr", rowsRead: 3, created: 3, findings: 0 });
    expect(Object.keys(summary)).not.toContain("identities");
    expect(Object.keys(summary)).not.toContain("changes");
    expect(runs[0]!.summary).not.toContain("Lovelace");
  });

  it("replaying the same file changes nothing and writes no events", async () => {
    await sync([ADA, GRACE], "2026-03-01");
    const before = await queryEvents(store.db, {});
    const again = await sync([ADA, GRACE], "2026-03-01");
    expect(again.created + again.updated + again.terminated + again.rehired).toBe(0);
    expect(again.unchanged).toBe(2);
    expect(await queryEvents(store.db, {})).toHaveLength(before.length);
  });

  it("a future hire is prehire, and becomes active on the start date without a new record", async () => {
    const future = "E9,Kim,Future,kim@example.test,Sales,AE,E1,employee,active,2026-03-10,,";
    await sync([ADA, future], "2026-03-01");
    expect((await byKey("E9")).state).toBe("prehire");
    const r = await sync([ADA, future], "2026-03-10");
    expect(r.transitions).toEqual({ "prehire→active": 1 });
    expect((await byKey("E9")).state).toBe("active");
  });

  it("moves people on leave to suspended and back", async () => {
    await sync([ADA], "2026-03-01");
    await sync([ADA.replace(",active,", ",leave,")], "2026-03-02");
    expect((await byKey("E1")).state).toBe("suspended");
    await sync([ADA], "2026-03-03");
    const ada = await byKey("E1");
    expect(ada.state).toBe("active");
    const actions = (await queryEvents(store.db, { subject: ada.id })).map((e) => e.action);
    expect(actions).toEqual([
      "identity.created",
      "identity.updated",
      "identity.state_changed",
      "identity.updated",
      "identity.state_changed",
    ]);
  });

  it("writes nothing when an identity changed after the run read it (a push landed meanwhile)", async () => {
    await sync([ADA, GRACE], "2026-03-01");
    await writeHrCsv(dir, [ADA.replace("Engineering,Engineer", "Sales,Account Executive"), GRACE]);
    const config = testConfig(dir);
    const source = config.sources.hr!;
    const existing = await identityRepository.listBySource(store.db, "hr");
    const read = await readSource(source, { known: existing.map(knownPerson) });
    const input = { existing, read, population: () => existing.length };
    const options = { now: at("2026-03-02"), actor: "test" };
    const run = await planSourceRun(config, source, input, options);
    const ada = await byKey("E1");
    const pushed = {
      ...ada,
      attributes: { ...ada.attributes, title: "CTO" },
      updatedAt: "2026-03-02T09:59:00.000Z",
    };
    await identityRepository.upsertMany(store.db, [pushed]);
    const events = (await queryEvents(store.db, {})).length;

    await expect(writeSourceRun(store, run, options)).rejects.toMatchObject({
      code: "identity_changed",
      httpStatus: 409,
    });
    expect((await byKey("E1")).attributes.title).toBe("CTO");
    expect(await queryEvents(store.db, {})).toHaveLength(events);
    // Planned again on what is there now, it goes through.
    expect(
      (await sync([ADA.replace("Engineering,Engineer", "Sales,Account Executive"), GRACE], "2026-03-02"))
        .updated,
    ).toBe(1);
  });

  it("a mover's attribute change is an event with before and after", async () => {
    await sync([ADA], "2026-03-01");
    await sync([ADA.replace("Engineering,Engineer", "Sales,Account Executive")], "2026-03-02");
    const ada = await byKey("E1");
    const [, updated] = await queryEvents(store.db, { subject: ada.id });
    expect(updated?.details).toMatchObject({
      changes: {
        department: { before: "Engineering", after: "Sales" },
        title: { before: "Engineer", after: "Account Executive" },
      },
    });
  });

  it("terminates a leaver on the termination date, not before", async () => {
    const leaving = ADA.replace(",active,2026-01-05,,", ",terminated,2026-01-05,,2026-03-04");
    await sync([ADA], "2026-03-01");
    await sync([leaving], "2026-03-03");
    expect((await byKey("E1")).state).toBe("active");
    const r = await sync([leaving], "2026-03-04");
    expect(r.transitions).toEqual({ "active→terminated": 1 });
    expect((await byKey("E1")).state).toBe("terminated");
  });

  it("terminates a contractor on the end date", async () => {
    const contractor =
      "E5,Cy,Contract,cy@example.test,Engineering,Dev,E1,contractor,active,2026-01-01,2026-03-31,";
    await sync([ADA, contractor], "2026-03-30");
    expect((await byKey("E5")).state).toBe("active");
    await sync([ADA, contractor], "2026-03-31");
    expect((await byKey("E5")).state).toBe("terminated");
  });

  it("rehires a terminated person as the same identity with history kept", async () => {
    await sync([ADA], "2026-03-01");
    const left = ADA.replace(",active,2026-01-05,,", ",terminated,2026-01-05,,2026-03-04");
    await sync([left], "2026-03-05");
    const gone = await byKey("E1");
    expect(gone.state).toBe("terminated");
    await sync([ADA.replace("2026-01-05", "2026-04-01")], "2026-03-20");
    const back = await byKey("E1");
    expect(back.id).toBe(gone.id);
    expect(back.state).toBe("prehire");
    expect(back.employment).toBe(2);
    const actions = (await queryEvents(store.db, { subject: back.id })).map((e) => e.action);
    expect(actions).toContain("identity.rehired");
    expect(actions[0]).toBe("identity.created");
  });

  it("does not terminate people missing from a later export unless missingMeans is terminate", async () => {
    await sync([ADA, GRACE], "2026-03-01");
    await sync([ADA], "2026-03-02");
    expect((await byKey("E2")).state).toBe("active");
    const r = await sync([ADA], "2026-03-03", { missingMeans: "terminate" });
    expect(r.terminated).toBe(1);
    expect((await byKey("E2")).state).toBe("terminated");
  });

  it("stops a truncated file with mass-change protection, changing nothing, until confirmed", async () => {
    const people = Array.from(
      { length: 20 },
      (_, i) => `E${100 + i},P${i},Person,p${i}@example.test,Ops,Staff,,employee,active,2026-01-01,,`,
    );
    await sync(people, "2026-03-01", { missingMeans: "terminate" });
    const eventsBefore = (await queryEvents(store.db, {})).length;
    const err = await sync(people.slice(0, 5), "2026-03-02", { missingMeans: "terminate" }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(MassChangeError);
    expect((err as MassChangeError).exitCode).toBe(3);
    expect((err as MassChangeError).message).toContain("terminate 15 of 20");
    const states = await identityRepository.countByState(store.db);
    expect(states).toEqual({ active: 20 });
    // Nothing changed; only the stop itself is recorded.
    const after = await queryEvents(store.db, {});
    expect(after).toHaveLength(eventsBefore + 1);
    const planHash = (err as MassChangeError).planHash;
    expect(planHash).toMatch(/^[0-9a-f]{64}$/);
    expect((err as MassChangeError).message).toContain(`--confirm-mass-change ${planHash}`);
    expect(after.at(-1)).toMatchObject({
      action: "mass-change.stopped",
      subject: `plan:${planHash}`,
      details: {
        run: "sync of source hr",
        planHash,
        exceeded: [{ kind: "source", name: "hr", disable: 15, delete: 0, total: 20 }],
      },
    });
    expect((await verifyLedger(store.db)).ok).toBe(true);

    // A confirmation of another plan is refused, changing nothing (not even the ledger).
    const other = "f".repeat(64);
    const refused = await sync(
      people.slice(0, 5),
      "2026-03-02",
      { missingMeans: "terminate" },
      { confirmMassChange: other },
    ).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(PlanChangedError);
    expect((refused as PlanChangedError).message).toContain(`the plan computed now is ${planHash}`);
    expect(await queryEvents(store.db, {})).toHaveLength(eventsBefore + 1);
    expect(await identityRepository.countByState(store.db)).toEqual({ active: 20 });

    const ok = await sync(
      people.slice(0, 5),
      "2026-03-02",
      { missingMeans: "terminate" },
      { confirmMassChange: planHash },
    );
    expect(ok.terminated).toBe(15);
    const confirm = await queryEvents(store.db, { action: "sync.mass_change_confirmed" });
    expect(confirm).toHaveLength(1);
    expect(confirm[0]?.details).toMatchObject({ terminated: 15, confirmedBy: "test", planHash });
  });

  it("re-keys a person by email when the source allows it, keeping the identity", async () => {
    await sync([ADA], "2026-03-01", { correlation: { fallback: "email" } });
    const first = await byKey("E1");
    await sync([ADA.replace("E1,", "E77,")], "2026-03-02", { correlation: { fallback: "email" } });
    const rekeyed = await byKey("E77");
    expect(rekeyed.id).toBe(first.id);
    expect((await queryEvents(store.db, { subject: first.id })).map((e) => e.action)).toContain(
      "identity.rekeyed",
    );
  });

  it("skips and reports invalid rows without creating identities for them", async () => {
    const r = await sync(
      [
        ADA,
        "E2,,Hopper,grace@example.test,Engineering,Lead,E1,employee,active,2026-02-01,,", // missing given name
        "E3,Al,Turing,not-an-email,Engineering,Lead,E1,employee,active,2026-02-01,,", // malformed email
        "E4,Bo,Date,bo@example.test,Ops,Staff,E1,employee,active,2026-02-30,,", // invalid date
        "E5,Cy,Early,cy@example.test,Ops,Staff,E1,contractor,active,2026-02-01,2026-01-01,", // end before start
        "E6,Di,Gone,di@example.test,Ops,Staff,E1,employee,terminated,2026-02-01,,", // terminated without date
        "E1,Ada,Again,ada2@example.test,Ops,Staff,,employee,active,2026-02-01,,", // duplicate key
        "E7,Ed,Same,same@example.test,Ops,Staff,E1,employee,active,2026-02-01,,",
        "E8,Flo,Same,same@example.test,Ops,Staff,E1,employee,active,2026-02-01,,", // duplicate email
        "E9,Gus,Lost,gus@example.test,Ops,Staff,E404,employee,active,2026-02-01,,", // unknown manager (kept)
        "E10,Hal,Loop,hal@example.test,Ops,Staff,E11,employee,active,2026-02-01,,", // manager cycle (kept)
        "E11,Ivy,Loop,ivy@example.test,Ops,Staff,E10,employee,active,2026-02-01,,",
      ],
      "2026-03-01",
    );
    const codes = r.findings.map((f) => `${f.row}:${f.code}:${f.severity}`);
    expect(codes).toEqual(
      expect.arrayContaining([
        "2:missing_required:error",
        "3:malformed_email:error",
        "4:invalid_date:error",
        "5:end_before_start:error",
        "6:terminated_without_date:error",
        "1:duplicate_key:error",
        "7:duplicate_key:error",
        "8:duplicate_email:error",
        "9:duplicate_email:error",
        "10:unknown_manager:warning",
        "11:manager_cycle:warning",
        "12:manager_cycle:warning",
      ]),
    );
    const keys = (await identityRepository.listBySource(store.db, "hr")).map((i) => i.sourceKey).sort();
    expect(keys).toEqual(["E10", "E11", "E9"]);
  });

  it("reports a key that changed for the same person and does not create a second identity", async () => {
    await sync([ADA], "2026-03-01");
    const r = await sync([ADA.replace("E1,", "E42,")], "2026-03-02");
    expect(r.findings).toEqual([expect.objectContaining({ code: "key_changed", severity: "error", row: 1 })]);
    expect(await identityRepository.listBySource(store.db, "hr")).toHaveLength(1);
  });

  it("rejects a file without its key column whole, changing nothing", async () => {
    await sync([ADA], "2026-03-01");
    const before = await queryEvents(store.db, {});
    const { writeFile } = await import("node:fs/promises");
    await writeFile(`${dir}/hr.csv`, "givenName,familyName\nAda,Lovelace\n");
    const config = testConfig(dir);
    await expect(
      syncSource(store, config, config.sources.hr!, { now: at("2026-03-02"), actor: "t" }),
    ).rejects.toThrow(InvalidInputError);
    expect(await queryEvents(store.db, {})).toHaveLength(before.length);
  });

  it("a dry run reports the plan and writes nothing", async () => {
    const r = await sync([ADA, GRACE], "2026-03-01", {}, { dryRun: true });
    expect(r.created).toBe(2);
    expect(r.changes.map((c) => c.key).sort()).toEqual(["E1", "E2"]);
    expect(await identityRepository.listBySource(store.db, "hr")).toEqual([]);
    expect(await queryEvents(store.db, {})).toEqual([]);
  });
});
