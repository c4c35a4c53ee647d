import { writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { storeFactories, type TestStore } from "../../test/helpers/databases.js";
import { tempDir } from "../../test/helpers/workspace.js";
import type { Account } from "../domain/access-types.js";
import { ingestRecords } from "../engine/ingest.js";
import { scanSod } from "../engine/sod-scan.js";
import { loadConfig } from "../policy/config-loader.js";
import type { TenureConfig } from "../policy/config-types.js";
import { accountRepository } from "../store/account-repository.js";
import { sodViolationRepository } from "../store/sod-repository.js";
import { REPORTS, runReport } from "./report-registry.js";
import type { Report } from "./report-types.js";
import { acceptViolation } from "./sod-exceptions.js";

/**
 * The reports of the present — privileged access, terminated identities with an enabled account, orphan
 * accounts — and the four separation-of-duties reports, each over a small store whose every row is
 * known: five people, eight accounts in two systems (granted by Tenure, found in the system, an orphan,
 * a vanished one), two violations of one rule (one accepted by an exception) and a third closed in the
 * period. Each report's rows are asserted whole, on SQLite and PostgreSQL.
 *
 * The other reports have their known-content tests where a real lifecycle produces their rows:
 * leavers, access-changes and campaigns in test/integration/evidence-reports.test.ts, nhi-risks in
 * src/api/nhi-routes.test.ts; the last test here keeps that list complete.
 */

const T0 = Date.parse("2026-08-03T09:00:00Z");
const HOUR = 3_600_000;
const at = (hours: number) => new Date(T0 + hours * HOUR);

const YAML = `
sources:
  hr: { type: push }
systems:
  app:
    connector: sql
    account: { username: "{employeeId}" }
    config:
      url: sqlite:./app.db
      users: { table: users, id: id, username: login, enabled: { column: active } }
      memberships: { table: user_groups, user: user_id, group: group_name }
  ops:
    connector: sql
    account: { username: "{employeeId}" }
    config:
      url: sqlite:./ops.db
      users: { table: users, id: id, username: login, enabled: { column: active } }
      memberships: { table: user_groups, user: user_id, group: group_name }
entitlements:
  app:
    readers: {}
    admin: { privileged: true }
  ops:
    viewer: {}
    root: { privileged: true, risk: critical }
roles:
  nobody:
    when: "department == 'None'"
    grants: [{ system: app, entitlements: [readers] }]
sod:
  rules:
    app-ops:
      description: Administers the application and the servers it runs on
      severity: high
      owner: olga@example.test
      sideA: { entitlements: ["app:admin"] }
      sideB: { entitlements: ["ops:root"] }
      mitigations:
        - control: Weekly review of root sessions
          owner: olga@example.test
    readers-viewers:
      description: Reads both sides
      severity: low
      sideA: { entitlements: ["app:readers"] }
      sideB: { entitlements: ["ops:viewer"] }
`;

const REPORTS_TESTED_ELSEWHERE = ["leavers", "access-changes", "campaigns", "nhi-risks"];
const REPORTS_TESTED_HERE = [
  "terminated-enabled",
  "orphan-accounts",
  "privileged-access",
  "sod-rules",
  "sod-violations",
  "sod-exceptions",
  "sod-history",
];

function account(
  system: string,
  username: string,
  identityId: string | null,
  entitlements: string[],
  managed: string[],
  more: Partial<Account> = {},
): Account {
  return {
    system,
    nativeId: null,
    username,
    identityId,
    enabled: true,
    attributes: {},
    entitlements,
    managedEntitlements: managed,
    managed: identityId !== null,
    vanishedAt: null,
    lastSeenAt: at(0).toISOString(),
    lastUsedAt: null,
    ...more,
  };
}

describe.each(await storeFactories())("reports with known content on %s", (_kind, makeStore) => {
  let store: TestStore;
  let config: TenureConfig;
  let dir: { dir: string; dispose: () => Promise<void> };
  const ids: Record<string, string> = {};
  const violation: Record<string, string> = {};
  let exceptionId: string;
  const report = (name: string, options: { now?: Date; from?: Date; to?: Date } = {}): Promise<Report> =>
    runReport(store, config, name, { now: at(5), ...options });

  beforeAll(async () => {
    dir = await tempDir("tenure-reports-");
    await writeFile(path.join(dir.dir, "tenure.yaml"), YAML);
    config = await loadConfig(path.join(dir.dir, "tenure.yaml"));
    store = await makeStore();
    const person = (
      employeeId: string,
      given: string,
      family: string,
      more: Record<string, string> = {},
    ) => ({
      employeeId,
      givenName: given,
      familyName: family,
      email: `${given.toLowerCase()}@example.test`,
      employmentType: "employee",
      department: "Engineering",
      startDate: "2026-01-05",
      ...more,
    });
    const pushed = await ingestRecords(store, config, {
      source: "hr",
      rows: [
        person("E1", "Ada", "Admin"),
        person("E2", "Ben", "Both"),
        person("E3", "Cal", "Gone", { status: "terminated", terminationDate: "2026-07-31" }),
        person("E4", "Dee", "Double"),
        person("E5", "Eli", "Edge"),
        person("O1", "Olga", "Owner", { department: "Risk" }),
      ],
      attributeNames: true,
      actor: "test",
      now: at(0),
    });
    for (const r of pushed.results) ids[r.key!] = r.identityId!;
    await accountRepository.upsertMany(
      store.db,
      [
        account("app", "E1", ids.E1!, ["readers", "admin"], ["readers", "admin"], {
          lastUsedAt: "2026-08-01T12:00:00.000Z",
        }),
        account("app", "E2", ids.E2!, ["admin"], []),
        account("ops", "E2", ids.E2!, ["root", "viewer"], ["viewer"]),
        account("app", "E3", ids.E3!, ["admin"], ["admin"]),
        account("app", "E4", ids.E4!, ["admin"], ["admin"]),
        account("ops", "E4", ids.E4!, ["root"], ["root"]),
        account("app", "E5", ids.E5!, ["admin"], ["admin"]),
        account("ops", "E5", ids.E5!, ["root"], []),
        account("app", "ghost", null, ["admin"], [], { enabled: false }),
        account("ops", "gone", null, ["root"], [], { vanishedAt: at(0).toISOString() }),
      ],
      at(0).toISOString(),
    );
    await scanSod(store, config, { now: at(1), actor: "test" });
    for (const v of await sodViolationRepository.open(store.db)) {
      const key = Object.keys(ids).find((k) => ids[k] === v.identityId)!;
      violation[key] = v.id;
    }
    const exception = await acceptViolation(
      store,
      config,
      {
        violationId: violation.E4!,
        approverId: ids.O1!,
        asAdmin: false,
        justification: "break-glass cover until the audit",
        expiresAt: at(24 * 30),
      },
      { now: at(2), actor: "test" },
    );
    exceptionId = exception.id;
    // Eli gives up root: the next scan closes his violation.
    await accountRepository.upsertMany(
      store.db,
      [account("ops", "E5", ids.E5!, [], [])],
      at(3).toISOString(),
    );
    await scanSod(store, config, { now: at(3), actor: "test" });
  }, 60_000);
  afterAll(async () => {
    await store?.dispose();
    await dir?.dispose();
  });

  it("privileged access: every holder of a privileged entitlement, by system, entitlement and account", async () => {
    const r = await report("privileged-access");
    const row = (
      employeeId: string | null,
      name: string | null,
      state: string,
      system: string,
      username: string,
      entitlement: string,
      grantedBy: string,
      accountEnabled = true,
      lastUsedAt: string | null = null,
    ) => ({ employeeId, name, state, system, username, entitlement, grantedBy, accountEnabled, lastUsedAt });
    expect(r.rows).toEqual([
      row("E1", "Ada Admin", "active", "app", "E1", "admin", "Tenure", true, "2026-08-01T12:00:00.000Z"),
      row("E2", "Ben Both", "active", "app", "E2", "admin", "found in the system"),
      row("E3", "Cal Gone", "terminated", "app", "E3", "admin", "Tenure"),
      row("E4", "Dee Double", "active", "app", "E4", "admin", "Tenure"),
      row("E5", "Eli Edge", "active", "app", "E5", "admin", "Tenure"),
      row(null, null, "orphan", "app", "ghost", "admin", "found in the system", false),
      row("E2", "Ben Both", "active", "ops", "E2", "root", "found in the system"),
      row("E4", "Dee Double", "active", "ops", "E4", "root", "Tenure"),
    ]);
    expect(r.summary).toEqual({ holdings: 8, holders: 8, notGrantedByTenure: 3 });
    expect(r.alerts).toEqual(["Cal Gone (E3) is terminated and still holds privileged admin in app"]);
    expect(r.columns.map((c) => c.key)).toEqual([
      "employeeId",
      "name",
      "state",
      "system",
      "username",
      "entitlement",
      "grantedBy",
      "accountEnabled",
      "lastUsedAt",
    ]);
  });

  it("terminated with an enabled account: exactly the leaver's account, and an alert", async () => {
    const r = await report("terminated-enabled");
    expect(r.rows).toEqual([
      {
        employeeId: "E3",
        name: "Cal Gone",
        terminatedSince: expect.any(String),
        system: "app",
        username: "E3",
      },
    ]);
    expect(r.summary).toEqual({ identities: 1, accounts: 1 });
    expect(r.alerts).toEqual([
      expect.stringMatching(/^Cal Gone \(E3\), terminated .*, still has enabled account E3 in app$/),
    ]);
  });

  it("orphan accounts: the account nobody owns, not the one that vanished", async () => {
    const r = await report("orphan-accounts");
    expect(r.rows).toEqual([
      {
        system: "app",
        username: "ghost",
        enabled: false,
        entitlements: "admin",
        lastSeenAt: at(0).toISOString(),
        lastUsedAt: null,
      },
    ]);
    expect(r.summary).toEqual({ accounts: 1, enabled: 0, bySystem: "app: 1" });
  });

  it("SoD rules: the rule set with its open violations", async () => {
    const r = await report("sod-rules");
    expect(r.rows).toEqual([
      {
        rule: "app-ops",
        severity: "high",
        description: "Administers the application and the servers it runs on",
        owner: "olga@example.test",
        kind: "pair",
        sideA: "app:admin",
        sideB: "ops:root",
        atMost: null,
        scope: null,
        mitigations: "Weekly review of root sessions (olga@example.test)",
        location: expect.stringMatching(/tenure\.yaml:\d+$/),
        openViolations: 2,
      },
      {
        rule: "readers-viewers",
        severity: "low",
        description: "Reads both sides",
        owner: null,
        kind: "pair",
        sideA: "app:readers",
        sideB: "ops:viewer",
        atMost: null,
        scope: null,
        mitigations: "",
        location: expect.stringMatching(/tenure\.yaml:\d+$/),
        openViolations: 0,
      },
    ]);
    expect(r.from).toBeNull();
  });

  const WHY: Record<string, string> = {
    E2: "app:admin: found in app on account E2, not granted by Tenure (added in the system directly) | ops:root: found in ops on account E2, not granted by Tenure (added in the system directly)",
    E4: "app:admin: in app on account E4 (granted by Tenure) | ops:root: in ops on account E4 (granted by Tenure)",
    E5: "app:admin: in app on account E5 (granted by Tenure) | ops:root: found in ops on account E5, not granted by Tenure (added in the system directly)",
  };
  const violationRow = (
    key: string,
    holder: string,
    status: string,
    more: Record<string, string | null> = {},
  ) => ({
    violation: violation[key],
    employeeId: key,
    holder,
    rule: "app-ops",
    severity: "high",
    status,
    access: "app:admin + ops:root",
    why: WHY[key],
    heldFrom: at(1).toISOString(),
    openedAt: at(1).toISOString(),
    closedAt: null,
    closeReason: null,
    exception: null,
    exceptionApprover: null,
    exceptionExpiresAt: null,
    ...more,
  });

  it("SoD violations: the two open now, one excepted with its approver and expiry", async () => {
    const r = await report("sod-violations");
    expect(r.rows).toEqual([
      violationRow("E2", "Ben Both", "open"),
      violationRow("E4", "Dee Double", "excepted", {
        exception: exceptionId,
        exceptionApprover: "Olga Owner",
        exceptionExpiresAt: at(24 * 30).toISOString(),
      }),
    ]);
  });

  it("SoD exceptions: the one accepted, with its approver, justification and expiry", async () => {
    const r = await report("sod-exceptions");
    expect(r.rows).toEqual([
      {
        exception: exceptionId,
        employeeId: "E4",
        holder: "Dee Double",
        rule: "app-ops",
        control: "Weekly review of root sessions",
        justification: "break-glass cover until the audit",
        approver: "Olga Owner",
        approverEmployeeId: "O1",
        approvedAt: at(2).toISOString(),
        expiresAt: at(24 * 30).toISOString(),
        state: "in force",
        revokedAt: null,
        request: null,
      },
    ]);
    // Past its expiry the same exception reads as expired.
    expect((await report("sod-exceptions", { now: at(24 * 31) })).rows[0]).toMatchObject({
      state: "expired",
    });
  });

  it("SoD history: the three opened in the period and Eli's closed in it; nothing in a period before", async () => {
    const r = await report("sod-history", { from: at(0), to: at(4) });
    const byHolder = Object.fromEntries(r.rows.map((row) => [row.employeeId, row]));
    expect(Object.keys(byHolder).sort()).toEqual(["E2", "E4", "E5"]);
    expect(byHolder.E5).toEqual(
      violationRow("E5", "Eli Edge", "closed", {
        closedAt: at(3).toISOString(),
        closeReason: expect.any(String),
      }),
    );
    expect(byHolder.E2).toEqual(violationRow("E2", "Ben Both", "open"));
    expect(r.from).toBe(at(0).toISOString());
    expect((await report("sod-history", { from: at(-48), to: at(-24) })).rows).toEqual([]);
    // Only Eli's closing falls in [2 h, 4 h).
    expect(
      (await report("sod-history", { from: at(2), to: at(4) })).rows.map((row) => row.employeeId),
    ).toEqual(["E5"]);
  });

  it("every report in the registry has a test asserting its known content", () => {
    expect(REPORTS.map((r) => r.name).sort()).toEqual(
      [...REPORTS_TESTED_HERE, ...REPORTS_TESTED_ELSEWHERE].sort(),
    );
  });
});
