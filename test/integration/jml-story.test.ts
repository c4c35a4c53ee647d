import { writeFile } from "node:fs/promises";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { verifyLedger } from "../../src/audit/ledger.js";
import { runSync } from "../../src/engine/run-sync.js";
import { loadConfig } from "../../src/policy/config-loader.js";
import type { TenureConfig } from "../../src/policy/config-types.js";
import { MassChangeError } from "../../src/shared/errors.js";
import { openStore, type Store } from "../../src/store/database.js";
import { type AppDatabase, appDatabaseFactories } from "../helpers/app-databases.js";
import { tempDir, writeHrCsv } from "../helpers/workspace.js";

function yaml(app: AppDatabase): string {
  return `
database: sqlite:./tenure.db
sources:
  hr:
    type: csv
    path: ./hr.csv
    missingMeans: terminate
lifecycle:
  prehireDays: 7
  deleteAfterDays: 30
  leaver: { revoke: privileged }
  massChangeThreshold: { percent: 25, minimum: 2 }
systems:
  app:
    connector: sql
    drift: enforce
    account:
      username: "{givenName}.{familyName}"
      attributes: { email: "{email}" }
    config:
      url: "${app.url}"
${app.schema ? `      schema: ${app.schema}\n` : ""}      users:
        table: app_users
        id: id
        username: login
        enabled: { column: active }
        attributes: { email: mail }
      memberships: { table: app_user_groups, user: user_id, group: group_name }
entitlements:
  app:
    readers: { displayName: Readers }
    deployers: { displayName: Deployers }
    admins: { displayName: Administrators, privileged: true }
roles:
  staff:
    when: "employmentType == 'employee' || employmentType == 'contractor'"
    grants: [{ system: app, entitlements: [readers] }]
  engineer:
    when: "department == 'Engineering'"
    includes: [staff]
    grants: [{ system: app, entitlements: [deployers] }]
  sre:
    when: "department == 'Engineering' && title == 'SRE'"
    includes: [engineer]
    grants: [{ system: app, entitlements: [admins] }]
`;
}

// employeeId,givenName,familyName,email,department,title,managerId,employmentType,status,startDate,endDate,terminationDate
const ADA = "E1,Ada,Lovelace,ada@example.test,Engineering,SRE,,employee,active,2026-01-05,,";
const GRACE = "E2,Grace,Hopper,grace@example.test,Sales,AE,E1,employee,active,2026-01-05,,";
const KIM = "E3,Kim,Future,kim@example.test,Sales,AE,E1,employee,active,2026-03-20,,";
const CY = "E4,Cy,Contract,cy@example.test,Sales,Temp,E1,contractor,active,2026-01-05,2026-03-10,";
const OTHERS = ["E5", "E6", "E7", "E8"].map(
  (k) => `${k},P${k},Person,${k.toLowerCase()}@example.test,Ops,Staff,E1,employee,active,2026-01-05,,`,
);

interface AppUser {
  login: string;
  active: number;
  groups: string[];
}

describe.each(await appDatabaseFactories())(
  "joiner-mover-leaver story against %s application tables",
  (_kind, makeApp) => {
    let app: AppDatabase;
    let dir: string;
    let disposeDir: () => Promise<void>;
    let config: TenureConfig;
    let store: Store;

    beforeEach(async () => {
      app = await makeApp();
      ({ dir, dispose: disposeDir } = await tempDir("tenure-jml-"));
      await writeFile(path.join(dir, "tenure.yaml"), yaml(app));
      config = await loadConfig(path.join(dir, "tenure.yaml"));
      store = await openStore(config.database, { baseDir: dir });
    });
    afterEach(async () => {
      await store.close();
      await app.drop();
      await disposeDir();
    });

    async function day(date: string, rows: string[], extra: { confirmMassChange?: string } = {}) {
      await writeHrCsv(dir, rows);
      return runSync(store, config, { now: new Date(`${date}T09:00:00Z`), actor: "test", ...extra });
    }

    async function users(): Promise<Map<string, AppUser>> {
      const rows = await app.query<{ login: string; active: number | string; group_name: string | null }>(
        "select u.login, u.active, g.group_name from app_users u left join app_user_groups g on g.user_id = u.id order by u.login, g.group_name",
      );
      const out = new Map<string, AppUser>();
      for (const r of rows) {
        const u = out.get(r.login) ?? { login: r.login, active: Number(r.active), groups: [] };
        if (r.group_name !== null) u.groups.push(r.group_name);
        out.set(r.login, u);
      }
      return out;
    }

    it("hires, pre-hires, moves, terminates, expires a contractor, deletes, rehires, and stops a truncated file", async () => {
      // 1 March: hires. Kim starts on the 20th, outside the 7-day pre-hire window: no account yet.
      let run = await day("2026-03-01", [ADA, GRACE, KIM, CY, ...OTHERS]);
      expect(run.provisioned?.applied?.summary.dead).toBe(0);
      let u = await users();
      expect(u.get("ada.lovelace")).toEqual({
        login: "ada.lovelace",
        active: 1,
        groups: ["admins", "deployers", "readers"],
      });
      expect(u.get("grace.hopper")).toEqual({ login: "grace.hopper", active: 1, groups: ["readers"] });
      expect(u.get("cy.contract")?.groups).toEqual(["readers"]);
      expect(u.has("kim.future")).toBe(false);

      // 14 March: Kim is inside the window (created disabled), Cy's end date passed (disabled),
      // Grace moves to Engineering (gains deployers at once), Ada leaves today (disabled, admins revoked).
      const adaLeaves = ADA.replace(",active,2026-01-05,,", ",terminated,2026-01-05,,2026-03-14");
      const graceMoves = GRACE.replace("Sales,AE", "Engineering,Developer");
      run = await day("2026-03-14", [adaLeaves, graceMoves, KIM, CY, ...OTHERS]);
      expect(run.provisioned?.applied?.summary.dead).toBe(0);
      u = await users();
      expect(u.get("kim.future")).toEqual({ login: "kim.future", active: 0, groups: ["readers"] });
      expect(u.get("cy.contract")?.active).toBe(0);
      expect(u.get("grace.hopper")?.groups).toEqual(["deployers", "readers"]);
      expect(u.get("ada.lovelace")).toEqual({
        login: "ada.lovelace",
        active: 0,
        groups: ["deployers", "readers"],
      });

      // 20 March: Kim's start date: enabled without any new record.
      await day("2026-03-20", [adaLeaves, graceMoves, KIM, CY, ...OTHERS]);
      expect((await users()).get("kim.future")?.active).toBe(1);

      // 14 April, 31 days after termination: Ada's and Cy's accounts are deleted.
      await day("2026-04-14", [adaLeaves, graceMoves, KIM, CY, ...OTHERS]);
      u = await users();
      expect(u.has("ada.lovelace")).toBe(false);
      expect(u.has("cy.contract")).toBe(false);

      // 15 April: Ada is rehired, starting on the 20th: same person, a fresh disabled account.
      const adaBack = ADA.replace("2026-01-05", "2026-04-20");
      await day("2026-04-15", [adaBack, graceMoves, KIM, CY, ...OTHERS]);
      u = await users();
      expect(u.get("ada.lovelace")).toEqual({
        login: "ada.lovelace",
        active: 0,
        groups: ["admins", "deployers", "readers"],
      });

      // A truncated export would terminate most people: stopped, nothing changes anywhere.
      const before = await users();
      await expect(day("2026-04-16", [adaBack, graceMoves])).rejects.toBeInstanceOf(MassChangeError);
      expect(await users()).toEqual(before);

      expect((await verifyLedger(store.db)).ok).toBe(true);
    });
  },
);
