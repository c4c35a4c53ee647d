/**
 * The NHI risks report's order: by severity, then by NHI name in the locale's order — also when the store
 * lists NHIs in another order (SQLite compares names byte by byte: 'Zeta' before 'alpha').
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { storeFactories, type TestStore } from "../../test/helpers/databases.js";
import { validateConfigText } from "../policy/config-loader.js";
import { syncNhiInventory } from "./nhi-inventory.js";
import { nhiRisksReport } from "./report-nhi-risks.js";

const now = new Date("2026-06-01T09:00:00Z");

describe.each(await storeFactories())("nhi-risks report on %s", (_kind, makeStore) => {
  let store: TestStore;
  beforeAll(async () => {
    store = await makeStore();
  });
  afterAll(() => store?.dispose());

  it("orders rows by severity, then by name in the locale's order, an NHI's rows as found", async () => {
    // No owner: owner_missing (high); expired: high; a credential 100 days old: credential_age (medium).
    const { config, errors } = await validateConfigText(
      `nhi:
  inventory:
    - { name: Zeta, type: api_key, created: 2026-02-20 }
    - { name: alpha, type: api_key, expires: 2026-05-01, created: 2026-01-01 }
    - { name: beta-1, type: api_key, owner: nobody-known, created: 2026-05-20 }
    - { name: Beta_0, type: agent, created: 2026-05-30 }
`,
      { path: "/tmp/nhi-report-test/tenure.yaml", env: {} },
    );
    expect(errors).toEqual([]);
    await syncNhiInventory(store, config!, { now, actor: "test" });
    const report = await nhiRisksReport(store, config!, { now });
    const got = report.rows.map((r) => [String(r.severity), String(r.nhi), String(r.risk)]);
    const order: Record<string, number> = { high: 0, medium: 1, low: 2 };
    const expected = [...got].sort((a, b) => order[a[0]!]! - order[b[0]!]! || a[1]!.localeCompare(b[1]!));
    expect(got).toEqual(expected);
    expect(got).toEqual([
      ["high", "alpha", "owner_missing"],
      ["high", "alpha", "expired"],
      ["high", "Beta_0", "owner_missing"],
      ["high", "beta-1", "owner_unknown"],
      ["high", "Zeta", "owner_missing"],
      ["medium", "alpha", "credential_age"],
      ["medium", "Zeta", "credential_age"],
    ]);
    expect(report.summary).toMatchObject({ nhis: 4, withRisk: 4, high: 5 });
  });
});
