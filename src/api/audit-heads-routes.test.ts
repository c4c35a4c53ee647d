// biome-ignore-all lint/suspicious/noTemplateCurlyInString: tenure.yaml text, where ${file:…} is a literal reference.
/**
 * `GET /api/audit/heads`: the published heads and the public key to check them, for auditors and
 * admins only — and never the private key.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ApiFixture, apiFixture, bearer } from "../../test/helpers/api-fixture.js";
import { storeFactories } from "../../test/helpers/databases.js";
import { appendEvent } from "../audit/ledger.js";
import { publishLedgerHead } from "../audit/ledger-publish.js";
import {
  generateSigningKey,
  headSignatureProblem,
  loadSigningKey,
  loadVerifyingKey,
} from "../audit/ledger-signing.js";

const PAIR = generateSigningKey();
const keyDir = mkdtempSync(path.join(os.tmpdir(), "tenure-api-key-"));
writeFileSync(path.join(keyDir, "ledger.pem"), PAIR.privateKeyPem, { mode: 0o600 });

describe("published ledger heads through the API", () => {
  let f: ApiFixture;
  beforeAll(async () => {
    const [, sqlite] = (await storeFactories())[0]!;
    f = await apiFixture(sqlite, {
      moreYaml: `secrets:\n  folders: [${keyDir}]\naudit:\n  signing:\n    key: \${file:${keyDir}/ledger.pem}\n`,
    });
    const key = loadSigningKey(PAIR.privateKeyPem);
    await publishLedgerHead(f.store.db, {
      key,
      sinks: [],
      now: new Date("2026-03-02T10:00:00Z"),
      actor: "test",
    });
    await appendEvent(f.store.db, {
      time: "2026-03-02T10:30:00Z",
      actor: "test",
      action: "test.event",
      subject: "x",
      details: {},
    });
    await publishLedgerHead(f.store.db, {
      key,
      sinks: [],
      now: new Date("2026-03-02T11:00:00Z"),
      actor: "test",
    });
  });
  afterAll(async () => {
    await f.dispose();
    rmSync(keyDir, { recursive: true, force: true });
  });

  it("lists the heads newest first, a page at a time, with the public key and never the private key", async () => {
    const first = await f.app.inject({
      url: "/api/audit/heads?limit=1",
      headers: bearer(f.tokenFor.auditor),
    });
    expect(first.statusCode).toBe(200);
    expect(first.body).not.toContain(PAIR.privateKeyPem.split("\n")[1]);
    const page = first.json();
    expect(page).toMatchObject({
      keyId: PAIR.keyId,
      publicKey: PAIR.publicKeyPem,
      nextCursor: expect.any(String),
    });
    expect(page.items).toHaveLength(1);
    const [newest] = page.items;
    expect(newest).toMatchObject({ keyId: PAIR.keyId, pendingSinks: [], lastError: null });
    expect(headSignatureProblem(newest, [loadVerifyingKey(page.publicKey)])).toBeUndefined();
    const next = await f.app.inject({
      url: `/api/audit/heads?limit=1&cursor=${page.nextCursor}`,
      headers: bearer(f.tokenFor.admin),
    });
    const older = next.json();
    expect(older.items).toHaveLength(1);
    expect(older.items[0].seq).toBeLessThan(newest.seq);
    expect(older.nextCursor).toBeNull();
  });

  it("is for auditors and admins only", async () => {
    for (const role of ["reviewer", "requester", "hr-source"] as const) {
      expect(
        (await f.app.inject({ url: "/api/audit/heads", headers: bearer(f.tokenFor[role]) })).statusCode,
      ).toBe(403);
    }
  });
});
