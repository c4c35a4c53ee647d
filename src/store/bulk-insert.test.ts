import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { storeFactories, type TestStore } from "../../test/helpers/databases.js";
import { type BulkInsertSpec, bulkInsert } from "./bulk-insert.js";
import type { SodViolationsTable } from "./schema-types.js";

const COLUMNS = [
  "id",
  "identity_id",
  "rule",
  "severity",
  "withheld",
  "sides",
  "held_from",
  "held_until",
  "opened_at",
  "last_seen_at",
  "closed_at",
  "close_reason",
] as const;
const INSERT: BulkInsertSpec = { table: "sod_violations", columns: COLUMNS };

const row = (id: string, extra: Partial<SodViolationsTable> = {}): SodViolationsTable => ({
  id,
  identity_id: `identity-${id}`,
  rule: "r",
  severity: "high",
  withheld: 0,
  sides: "[]",
  held_from: "2026-12-01T00:00:00.000Z",
  held_until: null,
  opened_at: "2026-12-01T00:00:00.000Z",
  last_seen_at: "2026-12-01T00:00:00.000Z",
  closed_at: null,
  close_reason: null,
  ...extra,
});

describe.each(await storeFactories())("bulk insert on %s", (_name, makeStore) => {
  let store: TestStore;
  beforeEach(async () => {
    store = await makeStore();
  });
  afterEach(async () => {
    await store.dispose();
  });

  const stored = async () =>
    store.db.selectFrom("sod_violations").selectAll().orderBy("id").execute() as Promise<
      SodViolationsTable[]
    >;

  it("stores every value as given: quotes, backslashes, control characters, braces, NULL as text, emoji", async () => {
    const texts = [
      'say "hi" \\ back\\slash',
      "line\nbreak\ttab\r",
      "{braces}, commas, (parens)",
      "NULL",
      "",
      "émoji 😀 and ∑",
      '["json", {"in": "text"}]',
      "\\ud800 written out",
    ];
    await bulkInsert(
      store.db,
      INSERT,
      texts.map((t, i) => COLUMNS.map((c) => row(`t${i}`, { sides: t, close_reason: i % 2 ? t : null })[c])),
    );
    const rows = await stored();
    expect(rows.map((r) => r.sides)).toEqual(texts);
    expect(rows.map((r) => r.close_reason)).toEqual(texts.map((t, i) => (i % 2 ? t : null)));
    expect(rows.map((r) => Number(r.withheld))).toEqual(texts.map(() => 0));
  });

  it("writes a lone surrogate as a bound value is written (U+FFFD on PostgreSQL)", async () => {
    const text = "half \ud800 pair";
    await store.db
      .insertInto("sod_violations")
      .values(row("bound", { sides: text }))
      .execute();
    await bulkInsert(store.db, INSERT, [row("bulk", { sides: text })]);
    const [bound, bulk] = await stored();
    expect(bulk!.sides).toBe(bound!.sides);
    if (store.kind === "postgres") expect(bulk!.sides).toBe("half \ufffd pair");
  });

  it("stores a JSON column's texts byte for byte (spaces, escapes, a lone surrogate's escape), and refuses a value that is not one (null, empty, an unescaped U+001E)", async () => {
    const texts = [
      '[ {"a" : "\\u00e9 x"} , [1, 2,null] ]',
      '"say \\"hi\\" \\\\ back"',
      '["\\ud800 written out", "émoji 😀"]',
      "null",
      "12.50",
    ];
    const spec: BulkInsertSpec = { ...INSERT, jsonColumns: ["sides"] };
    await bulkInsert(
      store.db,
      spec,
      texts.map((t, i) => row(`j${i}`, { sides: t })),
    );
    expect((await stored()).map((r) => r.sides)).toEqual(texts);
    // U+001E separates a JSON column's texts on PostgreSQL: JSON holds it only escaped.
    for (const bad of [null, "", '"\x1e"']) {
      await expect(
        bulkInsert(store.db, spec, [row("bad", { sides: bad as unknown as string })]),
      ).rejects.toThrow(/sod_violations\.sides takes JSON texts/);
    }
    expect(await stored()).toHaveLength(texts.length);
  });

  it("takes rows as arrays or as objects, in several statements when there are many", async () => {
    const many = Array.from({ length: 12_001 }, (_, i) =>
      row(String(i).padStart(6, "0"), { withheld: i % 2 }),
    );
    await bulkInsert(store.db, INSERT, many.slice(0, 6_000));
    await bulkInsert(
      store.db,
      INSERT,
      many.slice(6_000).map((r) => COLUMNS.map((c) => r[c])),
    );
    const rows = await stored();
    expect(rows).toHaveLength(12_001);
    expect(rows.map((r) => ({ ...r, withheld: Number(r.withheld) }))).toEqual(many);
  });

  it("upserts, and with ignoreConflicts returns only the rows it wrote", async () => {
    await bulkInsert(store.db, INSERT, [row("a"), row("b")]);
    await bulkInsert(
      store.db,
      { ...INSERT, upsert: { conflict: ["id"], update: ["severity", "withheld"] } },
      [row("a", { severity: "low", withheld: 1 }), row("c")],
    );
    const written = await bulkInsert<{ id: string }>(
      store.db,
      { ...INSERT, ignoreConflicts: ["id"], returning: ["id"] },
      [row("b", { severity: "medium" }), row("d")],
    );
    expect(written.map((r) => r.id)).toEqual(["d"]);
    const rows = await stored();
    expect(rows.map((r) => [r.id, r.severity, Number(r.withheld)])).toEqual([
      ["a", "low", 1],
      ["b", "high", 0],
      ["c", "high", 0],
      ["d", "high", 0],
    ]);
  });
});
