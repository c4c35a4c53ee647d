import { randomBytes } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import mysql from "mysql2/promise";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { queryEvents } from "../../src/audit/ledger.js";
import { loadConfig } from "../../src/policy/config-loader.js";
import type { TenureConfig } from "../../src/policy/config-types.js";
import { nhiRepository } from "../../src/store/nhi-repository.js";
import { syncNhiInventory } from "../../src/workflows/nhi-inventory.js";
import { nhisDueForRotation, rotateDueNhis, rotateNhi } from "../../src/workflows/nhi-rotate.js";
import { storeFactories, type TestStore } from "../helpers/databases.js";
import { tempDir } from "../helpers/workspace.js";

/**
 * An NHI declared in tenure.yaml over a real MariaDB login: rotated on demand (`tenure nhi rotate`), its
 * credential age starting again; then found due by the schedule once its age passes the policy's maximum,
 * and rotated again — each time the new secret logs in and the old one does not.
 */
const ADMIN_URL = process.env.TENURE_TEST_MARIADB ?? "mysql://root@127.0.0.1:3306";
const admin = new URL(ADMIN_URL);
const run = `n${randomBytes(4).toString("hex")}_`;
const USER = `${run}billing`;

async function adminQuery(text: string, values: unknown[] = []): Promise<void> {
  const c = await mysql.createConnection({ uri: ADMIN_URL, connectTimeout: 3000 });
  try {
    await c.query(text, values);
  } finally {
    await c.end();
  }
}

async function logsIn(password: string): Promise<boolean> {
  try {
    const c = await mysql.createConnection({
      host: admin.hostname,
      port: admin.port === "" ? 3306 : Number(admin.port),
      user: USER,
      password,
      connectTimeout: 3000,
    });
    await c.end();
    return true;
  } catch (err) {
    if ((err as { errno?: unknown }).errno === 1045) return false;
    throw err;
  }
}

describe.each(await storeFactories())("rotating an NHI from the inventory on %s", (_kind, makeStore) => {
  let store: TestStore;
  let config: TenureConfig;
  let dir: string;
  let dispose: () => Promise<void>;
  const sink = () => path.join(dir, "nhi-secrets.jsonl");
  const secretOf = async (rotationId: string) =>
    (await readFile(sink(), "utf8"))
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { rotationId: string; secret?: string })
      .find((l) => l.rotationId === rotationId && l.secret !== undefined)!.secret!;

  beforeAll(async () => {
    ({ dir, dispose } = await tempDir("tenure-nhi-rotate-"));
    await adminQuery("CREATE USER ?@'%' IDENTIFIED BY ?", [USER, "old-secret-1"]);
    await writeFile(
      path.join(dir, "tenure.yaml"),
      `systems:
  appdb:
    connector: mariadb
    config:
      url: "${ADMIN_URL}"
      passwordSink: { file: ./connector-passwords.jsonl }
nhi:
  policy:
    maxCredentialAge: { service_account: 30d }
  inventory:
    - { name: ${USER}, type: service_account, system: appdb, purpose: nightly billing export, created: 2026-01-01 }
  rotation:
    sink: { file: ./nhi-secrets.jsonl }
`,
    );
    config = await loadConfig(path.join(dir, "tenure.yaml"), { env: {} });
    store = await makeStore();
    await syncNhiInventory(store, config, { now: new Date("2026-11-21T10:00:00Z"), actor: "test" });
  });
  afterAll(async () => {
    await adminQuery(`DROP USER IF EXISTS ?@'%'`, [USER]).catch(() => {});
    await store?.dispose();
    await dispose?.();
  });

  it("rotates on demand, and the NHI's credential age starts again", async () => {
    const now = new Date("2026-11-21T10:05:00Z");
    expect((await nhisDueForRotation(store, config, now)).map((n) => n.name)).toEqual([USER]);
    const done = await rotateNhi(store, config, USER, { now, actor: "cli:test", reason: "on-demand" });
    const secret = await secretOf(done.rotationId);
    expect(await logsIn(secret)).toBe(true);
    expect(await logsIn("old-secret-1")).toBe(false);
    expect((await nhiRepository.findByName(store.db, USER))!.lastRotatedAt).toBe(done.lastRotatedAt);
    expect(await nhisDueForRotation(store, config, now)).toEqual([]);
    const events = await queryEvents(store.db, {
      subject: (await nhiRepository.findByName(store.db, USER))!.id,
    });
    expect(events.map((e) => e.action)).toEqual(expect.arrayContaining(["nhi.rotated", "nhi.updated"]));
    expect(JSON.stringify(events)).not.toContain(secret);
  });

  it("rotates on the schedule what is past its maximum age, and only that", async () => {
    const later = new Date("2027-01-15T10:00:00Z");
    const first = await rotateDueNhis(store, config, {
      now: new Date("2026-11-22T10:00:00Z"),
      actor: "scheduler",
    });
    expect(first).toEqual({ rotated: [], failed: [], skipped: [] });
    const due = await rotateDueNhis(store, config, { now: later, actor: "scheduler" });
    expect(due).toEqual({ rotated: [USER], failed: [], skipped: [] });
    const nhi = (await nhiRepository.findByName(store.db, USER))!;
    expect(nhi.lastRotatedAt).toBe(later.toISOString());
  });

  it("refuses an NHI nobody declared and a configuration without a sink, changing nothing", async () => {
    await expect(
      rotateNhi(store, config, "nope", { now: new Date(), actor: "t", reason: "on-demand" }),
    ).rejects.toThrow('no NHI is called "nope"');
    const { rotation: _, ...nhiWithout } = config.nhi!;
    const without = { ...config, nhi: nhiWithout } as TenureConfig;
    await expect(
      rotateNhi(store, without, USER, { now: new Date(), actor: "t", reason: "on-demand" }),
    ).rejects.toThrow("nhi.rotation is not configured");
  });
});
