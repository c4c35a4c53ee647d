/**
 * Bad HR data never deprovisions anyone and never enters the store: a full export with refused rows,
 * on SQLite and PostgreSQL, checked in the identities and in the audit ledger.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { storeFactories, type TestStore } from "../../test/helpers/databases.js";
import { tempDir, testConfig, writeHrCsv } from "../../test/helpers/workspace.js";
import { queryEvents, verifyLedger } from "../audit/ledger.js";
import type { CsvSourceConfig, TenureConfig } from "../policy/config-types.js";
import { InvalidInputError } from "../shared/errors.js";
import { identityRepository } from "../store/identity-repository.js";
import { syncSource } from "./sync.js";

const at = (day: string) => new Date(`${day}T10:00:00Z`);

// employeeId,givenName,familyName,email,department,title,managerId,employmentType,status,startDate,endDate,terminationDate
const row = (key: string, given: string, extra: { email?: string; start?: string; title?: string } = {}) =>
  `${key},${given},Person,${extra.email ?? `${given.toLowerCase()}@example.test`},Ops,${extra.title ?? "Clerk"},,employee,active,${extra.start ?? "2026-01-05"},,`;

const SIX = [
  row("E1", "Ada"),
  row("E2", "Bo"),
  row("E3", "Cy"),
  row("E4", "Di"),
  row("E5", "Ed"),
  row("E6", "Fay"),
];
const TERMINATE: Partial<CsvSourceConfig> = { missingMeans: "terminate" };

describe.each(await storeFactories())("sync of refused rows on %s", (_name, makeStore) => {
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

  async function sync(rows: string[], day: string, source: Partial<CsvSourceConfig> = TERMINATE) {
    await writeHrCsv(dir, rows);
    const config: TenureConfig = testConfig(dir, source);
    return syncSource(store, config, config.sources.hr!, { now: at(day), actor: "test" });
  }
  async function states(): Promise<Record<string, string>> {
    const all = await identityRepository.listBySource(store.db, "hr");
    return Object.fromEntries(all.map((i) => [i.sourceKey, i.state]));
  }

  it("with missingMeans terminate, terminates only the person absent, never one whose row is present but refused", async () => {
    await sync(SIX, "2026-03-01");
    const before = await queryEvents(store.db, {});
    const r = await sync(
      [
        row("E1", "Ada", { email: "ada@" }), // bad email
        row("E2", "Bo", { start: "2026-02-30" }), // impossible date
        row("E3", "Cy"),
        row("E3", "Cy", { email: "cy2@example.test" }), // duplicate key
        row("E4", "Di", { email: "shared@example.test" }),
        row("E5", "Ed", { email: "shared@example.test" }), // duplicate email
        // E6 is absent
      ],
      "2026-03-02",
    );
    expect(r.terminated).toBe(1);
    expect(await states()).toEqual({
      E1: "active",
      E2: "active",
      E3: "active",
      E4: "active",
      E5: "active",
      E6: "terminated",
    });
    expect(r.rowsSkipped).toBe(6);
    const codes = r.findings.map((f) => [f.code, f.row, f.line]);
    expect(codes).toEqual([
      ["malformed_email", 1, 2],
      ["invalid_date", 2, 3],
      ["duplicate_key", 3, 4],
      ["duplicate_key", 4, 5],
      ["duplicate_email", 5, 6],
      ["duplicate_email", 6, 7],
    ]);
    expect(r.findings[2]!.message).toContain('"E3" appears in rows 3 (line 4), 4 (line 5)');
    // The ledger gained the absent person's termination and nothing about the others.
    const added = (await queryEvents(store.db, {})).slice(before.length);
    const e6 = (await identityRepository.listBySource(store.db, "hr")).find((i) => i.sourceKey === "E6")!;
    expect(added.length).toBeGreaterThan(0);
    expect(added.every((e) => e.subject === e6.id)).toBe(true);
    expect((await verifyLedger(store.db)).ok).toBe(true);
  });

  it("a truncated export (the last row cut short) is refused whole: nobody is terminated, nothing is written", async () => {
    await sync(SIX, "2026-03-01");
    const before = await queryEvents(store.db, {});
    await expect(sync([...SIX.slice(0, 3), "E4,Di,Pers"], "2026-03-02")).rejects.toThrow(InvalidInputError);
    expect(Object.values(await states())).toEqual(Array(6).fill("active"));
    expect(await queryEvents(store.db, {})).toHaveLength(before.length);
  });

  it("NFC and NFD spellings of a key, and a trailing space, are one person", async () => {
    await sync([row("\u00C91", "Ada")], "2026-03-01"); // É1 in NFC
    const again = await sync([row("E\u03011 ", "Ada")], "2026-03-02"); // É1 in NFD, and a space
    expect(again.created + again.updated + again.terminated).toBe(0);
    expect(again.unchanged).toBe(1);
    expect(await states()).toEqual({ "\u00C91": "active" });
  });

  it("refuses NUL, control characters and over-long values with row and field, changing nothing in store or ledger", async () => {
    await sync([row("E1", "Ada"), row("E2", "Bo")], "2026-03-01");
    const identities = await identityRepository.listBySource(store.db, "hr");
    const before = await queryEvents(store.db, {});
    const r = await sync(
      [
        row("E1", "Ada\u0000", { email: "ada@example.test" }),
        row("E2", "Bo", { title: "\u001b[31mBoss" }),
        row("E3", "Cy", { title: "x".repeat(1025) }),
        row("x".repeat(257), "Di"),
      ],
      "2026-03-02",
    );
    expect(r.findings.map((f) => [f.code, f.row, f.line, f.field])).toEqual([
      ["control_character", 1, 2, "givenName"],
      ["control_character", 2, 3, "title"],
      ["too_long", 3, 4, "title"],
      ["too_long", 4, 5, "employeeId"],
    ]);
    expect(r.created + r.updated + r.terminated).toBe(0);
    expect(await identityRepository.listBySource(store.db, "hr")).toEqual(identities);
    expect(await queryEvents(store.db, {})).toHaveLength(before.length);
  });
});
