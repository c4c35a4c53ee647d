import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { storeFactories, type TestStore } from "../../test/helpers/databases.js";
import { openStore } from "../store/database.js";
import { type AuditEventInput, appendEvents, queryEvents, verifyLedger } from "./ledger.js";
import { ARCHIVED_ACTION, archiveLedger } from "./ledger-archive.js";
import { listCheckpoints } from "./ledger-checkpoints.js";
import { exportLedger, resolveRange } from "./ledger-export.js";
import { verifyHeads } from "./ledger-heads-verify.js";
import { allPublishedHeads, publishLedgerHead } from "./ledger-publish.js";
import { generateSigningKey, loadSigningKey, loadVerifyingKey, signHead } from "./ledger-signing.js";

const SCRIPT = fileURLToPath(new URL("../../docs/examples/verify-ledger-export.mjs", import.meta.url));
const PAIR = generateSigningKey();
const KEY = loadSigningKey(PAIR.privateKeyPem);
const DAY = 86_400_000;
const T0 = Date.UTC(2026, 0, 1, 12);

/** One event a day from 1 January 2026, with details that exercise canonical JSON. */
function daily(from: number, n: number): AuditEventInput[] {
  return Array.from({ length: n }, (_, i) => ({
    time: new Date(T0 + (from + i) * DAY).toISOString(),
    actor: i % 2 === 0 ? "system:sync" : "cli:alice",
    action: "identity.updated",
    subject: `identity:${(from + i) % 7}`,
    details: { z: 1, a: { y: [1, 2.5, -0, "Zoë 😀"], b: null }, line: 'quote " and \n newline', n: from + i },
  }));
}

function runScript(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [SCRIPT, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => {
      stdout += d;
    });
    child.stderr.on("data", (d) => {
      stderr += d;
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

describe.each(await storeFactories())("export and archive (%s)", (_name, factory) => {
  let store: TestStore;
  let dir: string;
  let publicKeyFile: string;
  const setUp = async () => {
    store = await factory();
    dir = mkdtempSync(path.join(os.tmpdir(), "tenure-export-"));
    publicKeyFile = path.join(dir, "ledger-public.pem");
    writeFileSync(publicKeyFile, PAIR.publicKeyPem);
  };
  afterEach(async () => {
    await store.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it("exports a range that the standalone script verifies, and names the seq of a tampered event", async () => {
    await setUp();
    await appendEvents(store.db, daily(0, 30));
    await publishLedgerHead(store.db, {
      key: KEY,
      sinks: [],
      now: new Date(T0 + 30 * DAY),
      actor: "scheduler",
    });
    await appendEvents(store.db, daily(31, 5));
    const range = await resolveRange(store.db, { time: new Date(Date.UTC(2026, 0, 10)) }, { seq: 33 });
    expect(range).toEqual({ fromSeq: 10, toSeq: 33 });
    const out = path.join(dir, "export.jsonl");
    const summary = await exportLedger(store.db, range, out, { key: KEY, now: new Date(T0 + 40 * DAY) });
    expect(summary).toMatchObject({ firstSeq: 10, lastSeq: 33, events: 24, heads: 1, keyId: KEY.keyId });

    const text = readFileSync(out, "utf8");
    expect(createHash("sha256").update(text).digest("hex")).toBe(summary.sha256);
    const lines = text
      .trimEnd()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => l.type)).toEqual([...Array(24).fill("event"), "head", "end"]);
    expect(Object.keys(lines[0])).toEqual([
      "type",
      "seq",
      "time",
      "actor",
      "action",
      "subject",
      "details",
      "prevHash",
      "hash",
    ]);
    expect(lines.at(-1)).toMatchObject({ type: "end", seq: 33, firstSeq: 10, count: 24, keyId: KEY.keyId });
    expect(text).not.toContain(PAIR.privateKeyPem.split("\n")[1]);

    const ok = await runScript(["--public-key", publicKeyFile, out]);
    expect(ok.stderr).toBe("");
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/^ok: .*events 10–33 \(24\), 1 published heads/);

    const tampered = path.join(dir, "tampered.jsonl");
    const edited = text.split("\n");
    edited[7] = edited[7]!
      .replace('"actor":"system:sync"', '"actor":"cli:mallory"')
      .replace('"actor":"cli:alice"', '"actor":"cli:mallory"');
    writeFileSync(tampered, edited.join("\n"));
    const bad = await runScript(["--public-key", publicKeyFile, tampered]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(
      /^FAILED: .*tampered\.jsonl:8: event 17: its hash does not match its contents/,
    );

    // Cut short at the start: the events still link, but the signed final line says where they began.
    const cut = path.join(dir, "cut.jsonl");
    writeFileSync(cut, text.split("\n").slice(3).join("\n"));
    const short = await runScript(["--public-key", publicKeyFile, cut]);
    expect(short.code).toBe(1);
    expect(short.stderr).toMatch(/event 13: the events do not start where the signed final line says/);

    // Another key's public half does not verify it.
    const otherKey = path.join(dir, "other.pem");
    writeFileSync(otherKey, generateSigningKey().publicKeyPem);
    const wrongKey = await runScript(["--public-key", otherKey, out]);
    expect(wrongKey.code).toBe(1);
    expect(wrongKey.stderr).toMatch(/which is not a key given with --public-key/);
  });

  it("refuses to export a broken chain, naming the first bad event", async () => {
    await setUp();
    await appendEvents(store.db, daily(0, 10));
    await store.db.updateTable("audit_events").set({ actor: "mallory" }).where("seq", "=", 4).execute();
    await expect(
      exportLedger(store.db, { fromSeq: 1, toSeq: 10 }, path.join(dir, "x.jsonl"), {
        key: KEY,
        now: new Date(),
      }),
    ).rejects.toThrow(/broken at event 4/);
  });

  it("archives segments so the archive files and the chain left in the database verify as the whole chain", async () => {
    await setUp();
    await appendEvents(store.db, daily(0, 40));
    await publishLedgerHead(store.db, {
      key: KEY,
      sinks: [],
      now: new Date(T0 + 40 * DAY),
      actor: "scheduler",
    });
    const before = (await queryEvents(store.db, { limit: 10_000 })).map((e) => e.hash);

    const first = path.join(dir, "ledger-2026-01.jsonl");
    const archived = await archiveLedger(store.db, new Date(Date.UTC(2026, 1, 1)), first, {
      key: KEY,
      now: new Date(T0 + 41 * DAY),
      actor: "cli:alice",
    });
    // Events of 1–31 January are seq 1–31.
    expect(archived).toMatchObject({ firstSeq: 1, lastSeq: 31, events: 31, lastHash: before[30] });
    expect((await queryEvents(store.db, { limit: 1 }))[0]?.seq).toBe(32);
    const [checkpoint] = await listCheckpoints(store.db);
    expect(checkpoint).toMatchObject({
      seq: 31,
      hash: before[30],
      firstSeq: 1,
      events: 31,
      file: first,
      sha256: archived.sha256,
    });
    const [event] = await queryEvents(store.db, { action: ARCHIVED_ACTION });
    expect(event?.details).toMatchObject({ firstSeq: 1, lastSeq: 31, sha256: archived.sha256, file: first });

    const verified = await verifyLedger(store.db);
    expect(verified).toEqual({ ok: true, checked: 42 - 31, from: { seq: 31, hash: before[30] } });

    // A second cut continues from the first.
    const second = path.join(dir, "ledger-2026-02.jsonl");
    const next = await archiveLedger(store.db, new Date(Date.UTC(2026, 1, 6)), second, {
      key: KEY,
      now: new Date(T0 + 42 * DAY),
      actor: "cli:alice",
    });
    expect(next).toMatchObject({ firstSeq: 32, lastSeq: 36, firstPrevHash: before[30] });
    expect(await verifyLedger(store.db)).toMatchObject({ ok: true, from: { seq: 36 } });

    // The rest of the chain, exported: the three files verify as one chain from genesis.
    const rest = path.join(dir, "rest.jsonl");
    await exportLedger(store.db, await resolveRange(store.db), rest, {
      key: KEY,
      now: new Date(T0 + 43 * DAY),
    });
    const whole = await runScript(["--public-key", publicKeyFile, first, second, rest]);
    expect(whole.stderr).toBe("");
    expect(whole.code).toBe(0);
    expect(whole.stdout.trim().split("\n")).toHaveLength(3);
    // Out of order, they do not.
    expect((await runScript(["--public-key", publicKeyFile, second, first])).code).toBe(1);

    // Heads inside an archived segment are the archive's to check; one at a cut is checked against it.
    const verifying = [loadVerifyingKey(PAIR.publicKeyPem)];
    const published = (await allPublishedHeads(store.db)).map((h) => ({ ...h, source: "database" }));
    const at = new Date(T0 + 44 * DAY);
    const outside = [
      { ...signHead({ seq: 10, hash: before[9]! }, at, KEY), source: "file:1" },
      { ...signHead({ seq: 31, hash: before[30]! }, at, KEY), source: "file:2" },
    ];
    expect(await verifyHeads(store.db, [...published, ...outside], verifying)).toEqual({
      ok: true,
      checked: 2,
      archived: 1,
      signaturesChecked: true,
      mismatches: [],
    });
    const wrongAtCut = { ...signHead({ seq: 31, hash: before[29]! }, at, KEY), source: "file:3" };
    expect((await verifyHeads(store.db, [wrongAtCut], verifying)).mismatches).toEqual([
      { source: "file:3", seq: 31, problem: expect.stringMatching(/^event 31 has hash/) },
    ]);

    // An event re-inserted below the cut is caught.
    await store.db
      .insertInto("audit_events")
      .values({
        seq: 30,
        time: "2026-01-31T12:00:00.000Z",
        actor: "x",
        action: "y",
        subject: "z",
        details: "{}",
        prev_hash: "0",
        hash: "0",
      })
      .execute();
    expect(await verifyLedger(store.db)).toMatchObject({ ok: false, firstBadSeq: 30 });
  });

  it("archives nothing when no event is old enough, and never overwrites an archive", async () => {
    await setUp();
    await appendEvents(store.db, daily(0, 5));
    const opts = { key: KEY, now: new Date(T0 + 10 * DAY), actor: "cli:alice" };
    await expect(
      archiveLedger(store.db, new Date(Date.UTC(2025, 11, 1)), path.join(dir, "a.jsonl"), opts),
    ).rejects.toThrow(/nothing to archive: no event before 2025-12-01T00:00:00.000Z/);
    const taken = path.join(dir, "taken.jsonl");
    writeFileSync(taken, "keep me\n");
    await expect(archiveLedger(store.db, new Date(Date.UTC(2026, 0, 3)), taken, opts)).rejects.toThrow(
      /exists already/,
    );
    expect(readFileSync(taken, "utf8")).toBe("keep me\n");
    expect((await queryEvents(store.db)).length).toBe(5);
  });
});

describe("verifying across a cut with worker threads (file-backed SQLite)", () => {
  it("starts the slices at the cut and still names a bad event after it", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "tenure-cut-workers-"));
    const store = await openStore(`sqlite:${path.join(dir, "tenure.db")}`);
    try {
      await appendEvents(store.db, daily(0, 60));
      await archiveLedger(store.db, new Date(Date.UTC(2026, 0, 21)), path.join(dir, "a.jsonl"), {
        key: KEY,
        now: new Date(T0 + 61 * DAY),
        actor: "cli:alice",
      });
      const intact = await verifyLedger(store.db, { workers: 3 });
      expect(intact).toMatchObject({ ok: true, checked: 61 - 20, from: { seq: 20 } });
      expect(await verifyLedger(store.db, { workers: 0 })).toEqual(intact);
      await store.db.updateTable("audit_events").set({ actor: "mallory" }).where("seq", "=", 45).execute();
      expect(await verifyLedger(store.db, { workers: 3 })).toMatchObject({
        ok: false,
        firstBadSeq: 45,
        checked: 24,
      });
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
