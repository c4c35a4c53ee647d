import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { sql } from "kysely";
import { afterEach, describe, expect, it } from "vitest";
import { type StoreFactory, storeFactories, type TestStore } from "../../test/helpers/databases.js";
import { openStore } from "../store/database.js";
import { canonicalJson } from "./canonical-json.js";
import {
  type AuditEventInput,
  appendEvent,
  appendEvents,
  computeEventHash,
  GENESIS_HASH,
  identitySubjects,
  queryEvents,
  verifyLedger,
} from "./ledger.js";
import { verifyRangesInWorkers } from "./sqlite-parallel-verify.js";

const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** A file-backed SQLite store: the only kind whose ledger verifyLedger checks with worker threads. */
const sqliteFileFactory: StoreFactory = async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), "tenure-audit-"));
  const store = await openStore(`sqlite:${path.join(dir, "tenure.db")}`);
  return {
    ...store,
    dispose: async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
};

const factories: Array<[string, StoreFactory]> = [
  ...(await storeFactories()),
  ["sqlite file, verified by workers", sqliteFileFactory],
];

// Forces the worker path even on a small ledger; PostgreSQL and in-memory SQLite ignore it.
const VERIFY = { workers: 3 };

function event(n: number, overrides: Partial<AuditEventInput> = {}): AuditEventInput {
  return {
    time: new Date(Date.UTC(2026, 2, 3, 9, 0, n)).toISOString(),
    actor: n % 3 === 0 ? "admin@example.test" : "system:sync",
    action: n % 2 === 0 ? "identity.updated" : "account.disabled",
    subject: `identity:${n % 4}`,
    details: {
      n,
      reason: "hr change",
      before: { title: "Analyst" },
      after: { title: "Lead", note: "Zoë 😀" },
    },
    ...overrides,
  };
}

const events = (count: number, from = 1) => Array.from({ length: count }, (_, i) => event(from + i));

describe.each(factories)("audit ledger on %s", (_name, factory) => {
  let store: TestStore | undefined;
  afterEach(async () => {
    await store?.dispose();
    store = undefined;
  });
  const open = async () => {
    store = await factory();
    return store;
  };
  /** A store holding events 1…count, appended in one batch. */
  const seeded = async (count = 10) => {
    const s = await open();
    await appendEvents(s.db, events(count));
    return s;
  };

  it("appends a chain that verifies, linking each event to the one before", async () => {
    const { db } = await open();
    const first = await appendEvents(db, events(3));
    const more = await db.transaction().execute((trx) => appendEvents(trx, events(2, 4)));
    const recorded = [...first, ...more];

    expect(recorded.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(recorded[0]!.prevHash).toBe(GENESIS_HASH);
    for (let i = 1; i < recorded.length; i++) expect(recorded[i]!.prevHash).toBe(recorded[i - 1]!.hash);
    for (const e of recorded) {
      expect(e.hash).toMatch(/^[0-9a-f]{64}$/);
      expect(e.hash).toBe(computeEventHash(e.prevHash, e, canonicalJson(e.details)));
    }
    expect(await queryEvents(db)).toEqual(recorded);
    expect(await verifyLedger(db, VERIFY)).toEqual({ ok: true, checked: 5 });
  });

  it("hashes prevHash + newline + the canonical JSON of the event", async () => {
    const { db } = await open();
    const e = await appendEvent(db, event(1, { details: { b: [1, { y: 2, x: 1 }], a: "é" } }));
    const body = canonicalJson({
      seq: 1,
      time: e.time,
      actor: e.actor,
      action: e.action,
      subject: e.subject,
      details: { a: "é", b: [1, { x: 1, y: 2 }] },
    });
    expect(e.hash).toBe(createHash("sha256").update(`${GENESIS_HASH}\n${body}`).digest("hex"));
    const [row] = await db.selectFrom("audit_events").select("details").execute();
    expect(row!.details).toBe('{"a":"é","b":[1,{"x":1,"y":2}]}');
  });

  it("stores times in UTC and drops undefined details, returning what a query returns", async () => {
    const { db } = await open();
    const e = await appendEvent(
      db,
      event(1, { time: "2026-03-03T10:00:00+01:00", details: { a: 1, b: undefined } }),
    );
    expect(e.time).toBe("2026-03-03T09:00:00.000Z");
    expect(e.details).toEqual({ a: 1 });
    expect((await queryEvents(db))[0]).toEqual(e);
  });

  it("refuses malformed events and writes nothing", async () => {
    const { db } = await open();
    await expect(appendEvents(db, [event(1), event(2, { time: "yesterday" })])).rejects.toThrow(
      /audit event 2: time must be an ISO-8601/,
    );
    await expect(appendEvent(db, event(1, { time: "2026-03-03T09:00:00" }))).rejects.toThrow(/offset/);
    await expect(appendEvent(db, event(1, { actor: "" }))).rejects.toThrow(
      /actor must be a non-empty string/,
    );
    await expect(appendEvent(db, event(1, { subject: "bad \ud800" }))).rejects.toThrow(/unpaired surrogate/);
    await expect(
      appendEvent(db, event(1, { details: [1, 2] as unknown as Record<string, unknown> })),
    ).rejects.toThrow(/details must be an object/);
    await expect(appendEvent(db, event(1, { details: { n: Number.NaN } }))).rejects.toThrow(/finite/);
    expect(await queryEvents(db)).toEqual([]);
    expect(await verifyLedger(db, VERIFY)).toEqual({ ok: true, checked: 0 });
  });

  it("rolls back with the caller's transaction", async () => {
    const { db } = await seeded(2);
    await expect(
      db.transaction().execute(async (trx) => {
        await appendEvents(trx, events(3, 3));
        throw new Error("the sync failed");
      }),
    ).rejects.toThrow("the sync failed");
    expect((await queryEvents(db)).map((e) => e.seq)).toEqual([1, 2]);
    const next = await appendEvent(db, event(3));
    expect(next.seq).toBe(3);
    expect(await verifyLedger(db, VERIFY)).toEqual({ ok: true, checked: 3 });
  });

  it("appends a batch larger than one insert chunk and verifies it page by page", async () => {
    const { db } = await open();
    const recorded = await appendEvents(db, events(10_001));
    expect(recorded.at(-1)!.seq).toBe(10_001);
    const progress: Array<[number, number]> = [];
    const result = await verifyLedger(db, {
      ...VERIFY,
      chunkSize: 3000,
      onProgress: (checked, total) => progress.push([checked, total]),
    });
    expect(result).toEqual({ ok: true, checked: 10_001 });
    expect(progress.at(-1)).toEqual([10_001, 10_001]);
    const head = await db.selectFrom("audit_head").selectAll().executeTakeFirstOrThrow();
    expect({ seq: Number(head.seq), hash: head.hash }).toEqual({ seq: 10_001, hash: recorded.at(-1)!.hash });
  });

  it("filters events for timelines and pages with afterSeq", async () => {
    const { db } = await seeded(12);
    const bySubject = await queryEvents(db, { subject: "identity:1" });
    expect(bySubject.map((e) => e.seq)).toEqual([1, 5, 9]);
    // An identity's events are recorded under its id and under identity:ID: a timeline asks for both.
    expect((await queryEvents(db, { subject: ["identity:1", "identity:3"] })).map((e) => e.seq)).toEqual([
      1, 3, 5, 7, 9, 11,
    ]);
    expect(identitySubjects("1")).toEqual(["1", "identity:1"]);
    expect(await queryEvents(db, { subject: [] })).toEqual([]);
    expect(
      (await queryEvents(db, { action: "identity.updated", subject: "identity:2" })).map((e) => e.seq),
    ).toEqual([2, 6, 10]);
    // since is inclusive, until exclusive; offsets are compared as instants.
    const window = await queryEvents(db, {
      since: "2026-03-03T09:00:03Z",
      until: "2026-03-03T10:00:06+01:00",
    });
    expect(window.map((e) => e.seq)).toEqual([3, 4, 5]);
    const page1 = await queryEvents(db, { limit: 5 });
    const page2 = await queryEvents(db, { limit: 5, afterSeq: page1.at(-1)!.seq });
    expect([...page1, ...page2].map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    await expect(queryEvents(db, { limit: 0 })).rejects.toThrow(/limit/);
  });

  describe("detects tampering done directly in the tables", () => {
    const hashOf = async (db: TestStore["db"], seq: number) =>
      (await db.selectFrom("audit_events").select("hash").where("seq", "=", seq).executeTakeFirstOrThrow())
        .hash;

    it("an edited details value", async () => {
      const { db } = await seeded();
      await sql`update audit_events set details = replace(details, '"n":4', '"n":40') where seq = 4`.execute(
        db,
      );
      expect(await verifyLedger(db, VERIFY)).toEqual({
        ok: false,
        checked: 3,
        firstBadSeq: 4,
        problem: "event 4: hash does not match its contents (edited?)",
      });
    });

    it("an edited actor", async () => {
      const { db } = await seeded();
      await sql`update audit_events set actor = 'someone-else@example.test' where seq = 7`.execute(db);
      const result = await verifyLedger(db, VERIFY);
      expect(result).toMatchObject({ ok: false, checked: 6, firstBadSeq: 7 });
      expect(result.problem).toBe("event 7: hash does not match its contents (edited?)");
    });

    it("an edited event whose hash was recomputed, caught by the next link", async () => {
      const { db } = await seeded();
      const [e] = await queryEvents(db, { afterSeq: 4, limit: 1 });
      const details = { ...e!.details, reason: "nothing to see" };
      const forgedHash = computeEventHash(e!.prevHash, e!, canonicalJson(details));
      await sql`update audit_events set details = ${canonicalJson(details)}, hash = ${forgedHash} where seq = 5`.execute(
        db,
      );
      const result = await verifyLedger(db, VERIFY);
      expect(result).toMatchObject({ ok: false, firstBadSeq: 6 });
      expect(result.problem).toMatch(/^event 6: its previous-hash does not match the hash of event 5/);
    });

    it("a deleted event in the middle", async () => {
      const { db } = await seeded();
      await sql`delete from audit_events where seq = 5`.execute(db);
      expect(await verifyLedger(db, VERIFY)).toEqual({
        ok: false,
        checked: 4,
        firstBadSeq: 5,
        problem: "event 5 missing: expected seq 5, found 6 (deleted?)",
      });
    });

    it("a deleted last event (tail truncation)", async () => {
      const { db } = await seeded();
      await sql`delete from audit_events where seq >= 9`.execute(db);
      expect(await verifyLedger(db, VERIFY)).toEqual({
        ok: false,
        checked: 8,
        firstBadSeq: 9,
        problem: "event 9 missing: the ledger head records 10 events but the last event is 8 (truncated?)",
      });
    });

    it("a forged event appended after the head, even with a correctly computed hash", async () => {
      const { db } = await seeded();
      const forged = { seq: 11, ...event(11, { actor: "mallory" }) };
      const detailsJson = canonicalJson(forged.details);
      const prevHash = await hashOf(db, 10);
      const forgedHash = computeEventHash(prevHash, forged, detailsJson);
      await sql`insert into audit_events (seq, time, actor, action, subject, details, prev_hash, hash)
        values (11, ${forged.time}, ${forged.actor}, ${forged.action}, ${forged.subject}, ${detailsJson}, ${prevHash}, ${forgedHash})`.execute(
        db,
      );
      expect(await verifyLedger(db, VERIFY)).toEqual({
        ok: false,
        checked: 10,
        firstBadSeq: 11,
        problem:
          "event 11: the ledger head ends at seq 10, so event 11 was added outside the ledger (forged?)",
      });
    });

    it("a forged event slipped into the middle by renumbering the rest", async () => {
      const { db } = await seeded();
      // Two steps, because unique keys are checked row by row while renumbering.
      await sql`update audit_events set seq = seq + 1000 where seq >= 5`.execute(db);
      await sql`update audit_events set seq = seq - 999 where seq >= 1000`.execute(db);
      const forged = { seq: 5, ...event(5, { actor: "mallory" }) };
      const prevHash = await hashOf(db, 4);
      const detailsJson = canonicalJson(forged.details);
      await sql`insert into audit_events (seq, time, actor, action, subject, details, prev_hash, hash)
        values (5, ${forged.time}, ${forged.actor}, ${forged.action}, ${forged.subject}, ${detailsJson}, ${prevHash}, ${computeEventHash(prevHash, forged, detailsJson)})`.execute(
        db,
      );
      const result = await verifyLedger(db, VERIFY);
      // The forgery itself is well-formed; the chain breaks where the original event 5 now sits.
      expect(result).toMatchObject({ ok: false, checked: 5, firstBadSeq: 6 });
      expect(result.problem).toMatch(
        /^event 6: its previous-hash does not match the hash of event 5 \(reordered/,
      );
    });

    it("an event inserted before the first", async () => {
      const { db } = await seeded();
      await sql`insert into audit_events (seq, time, actor, action, subject, details, prev_hash, hash)
        values (0, '2026-01-01T00:00:00.000Z', 'mallory', 'identity.created', 'identity:x', '{}', ${GENESIS_HASH}, ${GENESIS_HASH})`.execute(
        db,
      );
      expect(await verifyLedger(db, VERIFY)).toEqual({
        ok: false,
        checked: 0,
        firstBadSeq: 0,
        problem: "event 0: unexpected sequence number, expected 1 (inserted?)",
      });
    });

    it("two events swapped (reordered)", async () => {
      const { db } = await seeded();
      await sql`update audit_events set seq = -1 where seq = 3`.execute(db);
      await sql`update audit_events set seq = 3 where seq = 4`.execute(db);
      await sql`update audit_events set seq = 4 where seq = -1`.execute(db);
      const result = await verifyLedger(db, VERIFY);
      expect(result).toMatchObject({ ok: false, checked: 2, firstBadSeq: 3 });
      expect(result.problem).toMatch(
        /^event 3: its previous-hash does not match the hash of event 2 \(reordered/,
      );
    });

    it("a head moved by hand", async () => {
      const { db } = await seeded();
      await sql`update audit_head set hash = ${GENESIS_HASH} where id = 1`.execute(db);
      expect(await verifyLedger(db, VERIFY)).toMatchObject({ ok: false, checked: 10, firstBadSeq: 10 });
      await sql`delete from audit_head`.execute(db);
      expect(await verifyLedger(db, VERIFY)).toEqual({
        ok: false,
        checked: 10,
        problem: "the audit_head row is missing",
      });
      await expect(appendEvent(db, event(11))).rejects.toThrow(/audit_head row is missing/);
    });
  });

  it("keeps one gap-free chain under concurrent transactions", async () => {
    const { db } = await open();
    const sizes = Array.from({ length: 24 }, (_, i) => 1 + ((i * 7) % 13));
    await Promise.all([
      ...sizes.map((size, i) =>
        db.transaction().execute(async (trx) => {
          const recorded = await appendEvents(trx, events(size, i * 100));
          // Hold the head lock across a round trip, so the others really queue behind it.
          await trx.selectFrom("audit_head").select("seq").execute();
          return recorded;
        }),
      ),
      ...Array.from({ length: 10 }, (_, i) => appendEvent(db, event(5000 + i))),
    ]);
    const total = sizes.reduce((a, b) => a + b, 0) + 10;
    const all = await queryEvents(db, { limit: 10_000 });
    expect(all.map((e) => e.seq)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    expect(await verifyLedger(db, VERIFY)).toEqual({ ok: true, checked: total });
  });
});

describe("worker slices of a file-backed SQLite ledger", () => {
  it("judge an intact ledger intact and a tampered slice not, so the fast path never hides a fallback", async () => {
    const store = await sqliteFileFactory();
    try {
      await appendEvents(store.db, events(30));
      const { rows } = await sql<{ file: string }>`pragma database_list`.execute(store.db);
      const file = rows[0]!.file;
      const ranges = [
        { lo: 1, hi: 10 },
        { lo: 11, hi: 20 },
        { lo: 21, hi: 30 },
      ];
      const clean = await verifyRangesInWorkers(file, ranges, { chunkSize: 4 });
      const recorded = await queryEvents(store.db);
      expect(clean).toEqual([
        { ok: true, firstPrevHash: GENESIS_HASH, lastHash: recorded[9]!.hash },
        { ok: true, firstPrevHash: recorded[9]!.hash, lastHash: recorded[19]!.hash },
        { ok: true, firstPrevHash: recorded[19]!.hash, lastHash: recorded[29]!.hash },
      ]);
      await sql`update audit_events set subject = 'identity:other' where seq = 15`.execute(store.db);
      const tampered = await verifyRangesInWorkers(file, ranges, { chunkSize: 4 });
      expect(tampered.map((r) => r.ok)).toEqual([true, false, true]);
    } finally {
      await store.dispose();
    }
  });
});

describe("SQLite ledger shared by several processes", () => {
  it("stays one gap-free chain when separate connections append at once", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "tenure-audit-concurrent-"));
    const file = path.join(dir, "tenure.db");
    const main = await openStore(`sqlite:${file}`);
    try {
      // Each child opens its own openStore() handle on the same file; better-sqlite3 waits for
      // locks synchronously, so real competition needs separate processes, as in production
      // (a CLI sync next to `tenure serve`).
      const child = (id: number) =>
        runChild(
          `
          const { openStore } = await import(${JSON.stringify(new URL("../store/database.ts", import.meta.url).href)});
          const { appendEvents } = await import(${JSON.stringify(new URL("./ledger.ts", import.meta.url).href)});
          const store = await openStore(${JSON.stringify(`sqlite:${file}`)});
          for (let t = 0; t < 15; t++) {
            await store.db.transaction().execute(async (trx) => {
              const batch = Array.from({ length: 1 + (t % 5) }, (_, i) => ({
                time: new Date(Date.UTC(2026, 0, 1, 0, 0, t)).toISOString(),
                actor: "process-${id}",
                action: "identity.updated",
                subject: "identity:" + t + "-" + i,
                details: { t, i },
              }));
              await appendEvents(trx, batch);
              await trx.selectFrom("audit_head").select("seq").execute();
            });
          }
          await store.close();
          `,
        );
      const mainAppends = (async () => {
        for (let t = 0; t < 15; t++) await appendEvents(main.db, events(2, t * 10));
      })();
      await Promise.all([child(1), child(2), child(3), mainAppends]);

      const perChild = [0, 1, 2, 3, 4].reduce((sum, t) => sum + 3 * (1 + t), 0);
      const total = 3 * perChild + 15 * 2;
      const all = await queryEvents(main.db, { limit: 10_000 });
      expect(all.map((e) => e.seq)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
      expect(new Set(all.map((e) => e.actor))).toEqual(
        new Set(["process-1", "process-2", "process-3", "system:sync", "admin@example.test"]),
      );
      expect(await verifyLedger(main.db, { workers: 2 })).toEqual({ ok: true, checked: total });
    } finally {
      await main.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

function runChild(script: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
      cwd: REPO_ROOT,
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    proc.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    proc.once("error", reject);
    proc.once("exit", (code) =>
      code === 0 ? resolve() : reject(new Error(`appending process exited with ${code}: ${stderr}`)),
    );
  });
}
