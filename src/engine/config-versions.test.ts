import { createHash } from "node:crypto";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { storeFactories, type TestStore } from "../../test/helpers/databases.js";
import { tempDir } from "../../test/helpers/workspace.js";
import { queryEvents, verifyLedger } from "../audit/ledger.js";
import { loadConfig } from "../policy/config-loader.js";
import { configAt, configsDuring, recordConfigInForce } from "./config-versions.js";

const day = (n: number) => new Date(Date.UTC(2026, 10, n, 9));

describe.each(await storeFactories())("the configuration in force, on %s", (_kind, makeStore) => {
  let store: TestStore;
  let dir: string;
  let dispose: () => Promise<void>;
  const load = async (prehireDays: number) => {
    const file = path.join(dir, "tenure.yaml");
    await writeFile(file, `# policy\nlifecycle:\n  prehireDays: ${prehireDays}\n`);
    return loadConfig(file, { env: {} });
  };

  beforeAll(async () => {
    store = await makeStore();
    ({ dir, dispose } = await tempDir("tenure-config-versions-"));
  });
  afterAll(async () => {
    await store.dispose();
    await dispose();
  });

  it("records a configuration once, each change and each return, in the ledger's order", async () => {
    const a = await load(5);
    const hashA = await recordConfigInForce(store, a, day(1), "cli:test");
    expect(await recordConfigInForce(store, await load(5), day(2), "cli:test")).toBe(hashA);
    const hashB = await recordConfigInForce(store, await load(9), day(3), "cli:test");
    expect(hashB).not.toBe(hashA);
    // Back to the first file: it is in force again from day 4.
    expect(await recordConfigInForce(store, await load(5), day(4), "cli:test")).toBe(hashA);

    const events = await queryEvents(store.db, { action: "config.loaded" });
    expect(events.map((e) => [e.time, e.details.hash, e.details.previous])).toEqual([
      [day(1).toISOString(), hashA, null],
      [day(3).toISOString(), hashB, hashA],
      [day(4).toISOString(), hashA, hashB],
    ]);
    expect((await verifyLedger(store.db)).ok).toBe(true);

    expect(await configAt(store, new Date(Date.UTC(2026, 9, 30)))).toBeUndefined();
    const first = await configAt(store, day(2));
    expect(first).toMatchObject({ hash: hashA, since: day(1).toISOString() });
    expect(first!.text).toContain("prehireDays: 5");
    // The stored text is what the recorded hash names.
    expect(createHash("sha256").update(first!.text).digest("hex")).toBe(hashA);
    expect((await configAt(store, day(3)))!.hash).toBe(hashB);
    expect((await configAt(store, day(5)))!.hash).toBe(hashA);

    const during = await configsDuring(store, day(2), day(5));
    expect(during.map((c) => [c.hash, c.since])).toEqual([
      [hashA, day(1).toISOString()],
      [hashB, day(3).toISOString()],
      [hashA, day(4).toISOString()],
    ]);
  });
});
