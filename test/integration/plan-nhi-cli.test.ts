/**
 * Issue 17: `tenure plan --at T` previews the NHIs owner succession would disable by T, through the real
 * binary: a contractor owner whose end date comes, ownership passing to their manager who (the preview
 * assumes) does not confirm in time; an owner with nobody to pass to; the account each would lose, and
 * the one Tenure cannot switch off. Nothing changes: the store's NHIs are as before.
 */
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { appDatabaseFactories, sqlSystemConfigYaml } from "../helpers/app-databases.js";
import { runCli } from "../helpers/cli.js";
import { tempDir, writeHrCsv } from "../helpers/workspace.js";

const NOW = { TENURE_NOW: "2026-11-21T10:00:00Z" };
const [, sqliteApp] = (await appDatabaseFactories())[0]!;

let dir: string;
let dispose: () => Promise<void>;

beforeAll(async () => {
  ({ dir, dispose } = await tempDir("tenure-plan-nhi-"));
  await writeFile(
    path.join(dir, "tenure.yaml"),
    `database: "sqlite:./tenure.db"
sources:
  hr: { type: csv, path: ./hr.csv }
systems:
  app:
    connector: sql
    account: { username: "{givenName}.{familyName}" }
    config:
${sqlSystemConfigYaml(await sqliteApp())}
nhi:
  policy:
    onOwnerLeave: { passTo: manager, confirmWithin: 7d, otherwise: disable }
  inventory:
    - { name: svc_billing, type: service_account, system: app, owner: E2, purpose: billing export }
    - { name: report-key, type: api_key, owner: E3, purpose: reports }
    - { name: ada-key, type: api_key, owner: E1 }
`,
  );
  expect((await runCli(["init"], { cwd: dir })).code).toBe(0);
  // E2 (a contractor, managed by E1) ends on 2026-12-10; E3, nobody's report, on 2026-12-01.
  await writeHrCsv(dir, [
    "E1,Ada,Lovelace,ada@example.test,R&D,,,employee,active,2026-01-01,,",
    "E2,Bo,Chen,bo@example.test,R&D,,E1,contractor,active,2026-01-01,2026-12-10,",
    "E3,Cy,Diaz,cy@example.test,R&D,,,contractor,active,2026-01-01,2026-12-01,",
  ]);
  const sync = await runCli(["sync"], { cwd: dir, env: NOW });
  expect(sync.code, sync.stderr).toBe(0);
  const nhi = await runCli(["nhi", "sync"], { cwd: dir, env: NOW });
  expect(nhi.code, nhi.stderr).toBe(0);
}, 120_000);
afterAll(() => dispose?.());

describe("tenure plan --at and non-human identities", () => {
  it("lists nothing before anyone leaves, then each NHI on the day it would be disabled", async () => {
    const before = await runCli(["plan", "--at", "2026-11-30"], { cwd: dir, env: NOW });
    expect(before.code, before.stderr).toBe(0);
    expect(before.stdout).not.toContain("NHIs that would be disabled");

    const mid = await runCli(["plan", "--at", "2026-12-16"], { cwd: dir, env: NOW });
    expect(mid.code, mid.stderr).toBe(0);
    expect(mid.stdout).toContain("NHIs that would be disabled by 2026-12-16T12:00:00.000Z");
    expect(mid.stdout).toMatch(
      /report-key \(no system\) on 2026-12-01: the owner E3 left on 2026-12-01 and there is nobody to pass ownership to; its account: CANNOT be disabled by Tenure/,
    );
    expect(mid.stdout).toContain("names no system");
    // E1 has until 2026-12-17 to confirm svc_billing: not disabled by the 16th.
    expect(mid.stdout).not.toContain("svc_billing");

    const after = await runCli(["--json", "plan", "--at", "2026-12-18"], { cwd: dir, env: NOW });
    expect(after.code, after.stderr).toBe(0);
    const { nhiDisables } = JSON.parse(after.stdout) as {
      nhiDisables: Array<{ name: string; at: string; system: string | null; account: string | null }>;
    };
    expect(nhiDisables.map((d) => [d.name, d.at.slice(0, 10), d.system, d.account])).toEqual([
      ["report-key", "2026-12-01", null, null],
      ["svc_billing", "2026-12-17", "app", "svc_billing"],
    ]);
    expect(nhiDisables[1]).toMatchObject({
      accountAction: "disable",
      why: expect.stringContaining(
        "the owner E2 leaves on 2026-12-10: ownership passes to E1; E1 does not confirm",
      ),
    });
    // --system keeps that system's NHIs only, as GET /api/plan?system= does.
    const one = await runCli(["--json", "plan", "--at", "2026-12-18", "--system", "app"], {
      cwd: dir,
      env: NOW,
    });
    expect(one.code, one.stderr).toBe(0);
    expect(
      (JSON.parse(one.stdout) as { nhiDisables: Array<{ name: string }> }).nhiDisables.map((d) => d.name),
    ).toEqual(["svc_billing"]);
  });

  it("changes nothing: the NHIs are still enabled and owned as before", async () => {
    const list = JSON.parse((await runCli(["--json", "nhi", "list"], { cwd: dir, env: NOW })).stdout) as {
      nhis: Array<{ name: string; status: string }>;
    };
    expect(list.nhis.map((n) => [n.name, n.status])).toEqual([
      ["ada-key", "active"],
      ["report-key", "active"],
      ["svc_billing", "active"],
    ]);
  });
});
