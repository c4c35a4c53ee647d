import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { storeFactories, type TestStore } from "../../test/helpers/databases.js";
import { type HttpReceiver, startHttpReceiver } from "../../test/helpers/http-receiver.js";
import { verifyWebhookSignature } from "../connectors/webhook/webhook-signature.js";
import type { HeadSinkConfig } from "./audit-config.js";
import { type AuditEventInput, appendEvents, queryEvents } from "./ledger.js";
import { parseHeadsFile, verifyHeads } from "./ledger-heads-verify.js";
import {
  allPublishedHeads,
  HEAD_PUBLISHED_ACTION,
  listPublishedHeads,
  publishLedgerHead,
} from "./ledger-publish.js";
import {
  generateSigningKey,
  headSignatureProblem,
  loadSigningKey,
  loadVerifyingKey,
} from "./ledger-signing.js";

const PAIR = generateSigningKey();
const KEY = loadSigningKey(PAIR.privateKeyPem);
const PUBLIC = loadVerifyingKey(PAIR.publicKeyPem);
const PRIVATE_BODY = PAIR.privateKeyPem.split("\n")[1]!;
const T0 = Date.UTC(2026, 11, 4, 9);

function events(n: number, label: string): AuditEventInput[] {
  return Array.from({ length: n }, (_, i) => ({
    time: new Date(T0 + i * 1000).toISOString(),
    actor: "system:sync",
    action: "identity.updated",
    subject: `identity:${label}-${i}`,
    details: { i, label },
  }));
}

let receiver: HttpReceiver;
let dir: string;
beforeAll(async () => {
  receiver = await startHttpReceiver();
});
afterAll(async () => {
  await receiver.stop();
});

describe.each(await storeFactories())("publishing the ledger head (%s)", (_name, factory) => {
  const stores: TestStore[] = [];
  const open = async () => {
    const store = await factory();
    stores.push(store);
    return store;
  };
  afterEach(async () => {
    for (const s of stores.splice(0)) await s.dispose();
    rmSync(dir, { recursive: true, force: true });
    receiver.received.length = 0;
    receiver.queue.length = 0;
  });
  const sinks = (): HeadSinkConfig[] => {
    dir = mkdtempSync(path.join(os.tmpdir(), "tenure-heads-"));
    return [
      { kind: "file", path: path.join(dir, "heads", "ledger-heads.jsonl") },
      { kind: "webhook", url: `${receiver.base}/heads?token=t0p`, secret: "hook-secret", timeoutSeconds: 5 },
      { kind: "email", to: ["audit@example.org"] },
    ];
  };

  it("signs the head before its own event, records it, and gives it to a file, a webhook and the email outbox", async () => {
    const store = await open();
    const to = sinks();
    await appendEvents(store.db, events(5, "a"));
    const now = new Date(T0 + 3_600_000);
    const result = await publishLedgerHead(store.db, { key: KEY, sinks: to, now, actor: "scheduler" });

    expect(result.published).toMatchObject({ seq: 5, keyId: KEY.keyId, time: now.toISOString() });
    expect(result.failed).toEqual([]);
    expect(result.delivered.map((d) => d.sink)).toEqual([
      `file:${to[0]!.kind === "file" ? to[0]!.path : ""}`,
      expect.stringMatching(/^webhook:http:\/\/127\.0\.0\.1:\d+#[0-9a-f]{8}$/),
      "email:audit@example.org",
    ]);
    const head = result.published!;
    expect(headSignatureProblem(head, [PUBLIC])).toBeUndefined();
    const [fifth] = await queryEvents(store.db, { afterSeq: 4, limit: 1 });
    expect(head.hash).toBe(fifth!.hash);

    // The publication is event 6, in the chain; its details name the head, never the key.
    const [published] = await queryEvents(store.db, { action: HEAD_PUBLISHED_ACTION });
    expect(published).toMatchObject({
      seq: 6,
      actor: "scheduler",
      details: { seq: 5, hash: head.hash, keyId: KEY.keyId },
    });
    expect(JSON.stringify(published)).not.toContain(PRIVATE_BODY);

    // File: one JSON line, 0600, the format `audit verify --heads` reads.
    const file = to[0]!.kind === "file" ? to[0]!.path : "";
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const parsed = parseHeadsFile(readFileSync(file, "utf8"), file);
    expect(parsed.problems).toEqual([]);
    expect(parsed.heads).toEqual([{ ...head, source: `${file}:1` }]);

    // Webhook: the same line, signed as notify's webhooks are.
    expect(receiver.received).toHaveLength(1);
    const request = receiver.received[0]!;
    expect(request.url).toBe("/heads?token=t0p");
    expect(
      verifyWebhookSignature("hook-secret", request.headers["tenure-signature"], request.body, now),
    ).toBe(true);
    expect(JSON.parse(request.body)).toEqual(head);

    // Email: queued in the outbox for the notify job.
    const outbox = await store.db.selectFrom("notifications").selectAll().execute();
    expect(outbox).toHaveLength(1);
    expect(outbox[0]).toMatchObject({
      channel: "email",
      recipient: "audit@example.org",
      event: HEAD_PUBLISHED_ACTION,
      state: "pending",
    });
    expect(outbox[0]!.body).toContain(head.signature);
    expect(JSON.stringify(outbox)).not.toContain(PRIVATE_BODY);

    const listed = await listPublishedHeads(store.db);
    expect(listed).toEqual([{ ...head, publishedAt: now.toISOString(), pendingSinks: [], lastError: null }]);
  });

  it("signs nothing new when only its own publication happened since, and the next change is published", async () => {
    const store = await open();
    const to = sinks().slice(0, 1);
    await appendEvents(store.db, events(3, "a"));
    const first = await publishLedgerHead(store.db, {
      key: KEY,
      sinks: to,
      now: new Date(T0 + 1000),
      actor: "scheduler",
    });
    const again = await publishLedgerHead(store.db, {
      key: KEY,
      sinks: to,
      now: new Date(T0 + 2000),
      actor: "scheduler",
    });
    expect(first.published?.seq).toBe(3);
    expect(again).toEqual({ published: null, delivered: [], failed: [] });
    await appendEvents(store.db, events(1, "b"));
    const third = await publishLedgerHead(store.db, {
      key: KEY,
      sinks: to,
      now: new Date(T0 + 3000),
      actor: "scheduler",
    });
    // 3 events, the first publication (4), the new event (5).
    expect(third.published?.seq).toBe(5);
    expect((await allPublishedHeads(store.db)).map((h) => h.seq)).toEqual([3, 5]);
  });

  it("keeps a failing webhook's heads pending and retries them in order at the next run, while the file gets each at once", async () => {
    const store = await open();
    const to = sinks().slice(0, 2);
    receiver.queue.push(503);
    await appendEvents(store.db, events(2, "a"));
    const first = await publishLedgerHead(store.db, {
      key: KEY,
      sinks: to,
      now: new Date(T0 + 1000),
      actor: "scheduler",
    });
    expect(first.delivered.map((d) => d.sink)).toEqual([expect.stringMatching(/^file:/)]);
    expect(first.failed).toEqual([
      {
        sink: expect.stringMatching(/^webhook:/),
        seq: 2,
        error: expect.stringMatching(/^webhook POST http:\/\/127\.0\.0\.1:\d+\/… answered HTTP 503$/),
      },
    ]);
    expect(first.failed[0]!.error).not.toContain("t0p");
    const [pending] = await listPublishedHeads(store.db);
    expect(pending?.pendingSinks).toEqual([expect.stringMatching(/^webhook:/)]);

    await appendEvents(store.db, events(1, "b"));
    const second = await publishLedgerHead(store.db, {
      key: KEY,
      sinks: to,
      now: new Date(T0 + 2000),
      actor: "scheduler",
    });
    expect(second.failed).toEqual([]);
    // The owed head goes first, then the new one; the file got only the new one.
    expect(second.delivered.map((d) => [d.sink.split(":")[0], d.seq])).toEqual([
      ["webhook", 2],
      ["file", 4],
      ["webhook", 4],
    ]);
    expect(receiver.received.map((r) => JSON.parse(r.body).seq)).toEqual([2, 2, 4]);
    expect((await listPublishedHeads(store.db)).every((h) => h.pendingSinks.length === 0)).toBe(true);
  });

  it("detects a database replaced wholesale: the heads published from one fail against the other", async () => {
    const original = await open();
    const replacement = await open();
    const to = sinks().slice(0, 1);
    const file = to[0]!.kind === "file" ? to[0]!.path : "";
    await appendEvents(original.db, events(4, "real"));
    await publishLedgerHead(original.db, {
      key: KEY,
      sinks: to,
      now: new Date(T0 + 1000),
      actor: "scheduler",
    });
    await appendEvents(original.db, events(2, "more"));
    await publishLedgerHead(original.db, {
      key: KEY,
      sinks: to,
      now: new Date(T0 + 2000),
      actor: "scheduler",
    });
    // A forger builds a new, internally consistent chain of the same length.
    await appendEvents(replacement.db, events(8, "forged"));

    const { heads } = parseHeadsFile(readFileSync(file, "utf8"), file);
    expect(heads.map((h) => h.seq)).toEqual([4, 7]);
    const good = await verifyHeads(original.db, heads, [PUBLIC]);
    expect(good).toEqual({ ok: true, checked: 2, archived: 0, signaturesChecked: true, mismatches: [] });

    const bad = await verifyHeads(replacement.db, heads, [PUBLIC]);
    expect(bad.ok).toBe(false);
    expect(bad.mismatches).toEqual([
      {
        source: `${file}:1`,
        seq: 4,
        problem: expect.stringMatching(
          /^event 4 has hash [0-9a-f]{16}… in the database, but the published head says/,
        ),
      },
      { source: `${file}:2`, seq: 7, problem: expect.stringMatching(/^event 7 has hash/) },
    ]);

    // A shorter forged chain: the head is past its end.
    const short = await open();
    await appendEvents(short.db, events(5, "short"));
    const truncated = await verifyHeads(short.db, heads, [PUBLIC]);
    expect(truncated.mismatches.at(-1)?.problem).toMatch(
      /reached event 7, but the ledger in the database ends at event 5/,
    );

    // A head whose hash was edited to match the forged chain fails its signature instead.
    const [forged] = await queryEvents(replacement.db, { afterSeq: 3, limit: 1 });
    const edited = await verifyHeads(replacement.db, [{ ...heads[0]!, hash: forged!.hash }], [PUBLIC]);
    expect(edited.mismatches[0]?.problem).toMatch(/signature does not match/);
  });
});
