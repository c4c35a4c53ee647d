/**
 * First contact: before Tenure first writes to a system it reads it (reconcileFirstContact), and only
 * then — once per system, not once per push. A system once read stays read, so a process that has seen
 * every configured system read (or with nothing to read: manual) asks the store no more; a system added
 * to the configuration is still read before its first write. On SQLite and PostgreSQL, against a real SQL application.
 */
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { queryEvents } from "../../src/audit/ledger.js";
import { connectorPool, reconcileFirstContact } from "../../src/engine/provision.js";
import { loadConfig } from "../../src/policy/config-loader.js";
import { createAppDatabase } from "../fixtures/app-database.js";
import { sqlSystemYaml } from "../helpers/app-databases.js";
import { storeFactories, type TestStore } from "../helpers/databases.js";
import { tempDir, writeHrCsv } from "../helpers/workspace.js";

const NOW = new Date("2026-12-06T09:00:00.000Z");
const system = (name: string, file: string) => sqlSystemYaml(name, { url: `sqlite:./${file}` });

const MANUAL = `  desk:
    connector: manual
    account: { username: "{employeeId}" }
    config: { fulfiller: desk@example.test }
`;

describe.each(await storeFactories())("first contact on %s", (_kind, makeStore) => {
  let store: TestStore;
  let dir: string;
  let dispose: () => Promise<void>;

  beforeEach(async () => {
    store = await makeStore();
    ({ dir, dispose } = await tempDir("tenure-first-contact-"));
    createAppDatabase(path.join(dir, "app.db"));
    createAppDatabase(path.join(dir, "crm.db"));
    await writeHrCsv(dir, []);
  });
  afterEach(async () => {
    await store.dispose();
    await dispose();
  });

  async function configWith(...systems: string[]) {
    const file = path.join(dir, "tenure.yaml");
    await writeFile(
      file,
      `database: sqlite:./unused.db\nsources:\n  hr: { type: csv, path: ./hr.csv }\nsystems:\n${systems.join("")}`,
    );
    return loadConfig(file);
  }

  it("reads a system once, asks the store no more once every system is known read, and reads one added later", async () => {
    const contact = async (config: Awaited<ReturnType<typeof configWith>>) => {
      const pool = connectorPool(config);
      try {
        return await reconcileFirstContact(store, config, pool, { now: NOW, actor: "test" });
      } finally {
        await pool.closeAll();
      }
    };
    const asked = vi.spyOn(store.db, "selectFrom");
    const runsAsked = () => asked.mock.calls.filter(([table]) => table === "reconcile_runs").length;
    try {
      const one = await configWith(system("app", "app.db"));
      expect(await contact(one)).toEqual(new Map());
      const afterFirst = runsAsked();
      expect(afterFirst).toBeGreaterThan(0);
      // Every push asks again; app is known read: no question, no second read.
      expect(await contact(one)).toEqual(new Map());
      expect(await contact(one)).toEqual(new Map());
      expect(runsAsked()).toBe(afterFirst);
      expect(await queryEvents(store.db, { action: "reconcile.completed" })).toHaveLength(1);

      // A system added to the configuration is not known read: the store is asked, and it is read.
      const two = await configWith(system("app", "app.db"), system("crm", "crm.db"));
      expect(await contact(two)).toEqual(new Map());
      const afterAdded = runsAsked();
      expect(afterAdded).toBeGreaterThan(afterFirst);
      const reads = await queryEvents(store.db, { action: "reconcile.completed" });
      expect(reads.map((e) => e.subject).sort()).toEqual(["system:app", "system:crm"]);
      expect(await contact(two)).toEqual(new Map());
      expect(runsAsked()).toBe(afterAdded);

      // A system with no API (manual) is never read — there is nothing to read — and asks nothing either.
      const withManual = await configWith(system("app", "app.db"), MANUAL);
      expect(await contact(withManual)).toEqual(new Map());
      const afterManual = runsAsked();
      expect(await contact(withManual)).toEqual(new Map());
      expect(await contact(withManual)).toEqual(new Map());
      expect(runsAsked()).toBe(afterManual);
      expect(await queryEvents(store.db, { action: "reconcile.completed" })).toHaveLength(2);
    } finally {
      asked.mockRestore();
    }
  });
});
