/**
 * Issue 10, point 7: one hung system never starves the others. A real slapd is frozen with SIGSTOP — its
 * port still accepts connections, nothing answers — while operations for it and for a SQL application
 * (a SQLite file, the real `sql` connector) are applied. Every SQL operation succeeds while the
 * directory is frozen; every directory call is cut off by its system's deadline
 * (`systems.directory.timeoutSeconds`), and its operation is failed for a retry — not dead, not lost.
 * After SIGCONT the retries succeed. Outcomes are asserted, never timings. The store runs on SQLite and
 * on PostgreSQL.
 */
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { queryEvents } from "../../src/audit/ledger.js";
import { enqueuePlan } from "../../src/engine/enqueue.js";
import { applyQueued, connectorPool } from "../../src/engine/provision.js";
import { loadConfig } from "../../src/policy/config-loader.js";
import type { TenureConfig } from "../../src/policy/config-types.js";
import { operationRepository } from "../../src/store/operation-repository.js";
import { joiner } from "../fixtures/app-database.js";
import { type AppDatabase, appDatabaseFactories, sqlSystemConfigYaml } from "../helpers/app-databases.js";
import { storeFactories, type TestStore } from "../helpers/databases.js";
import { findSlapd, SLAPD_INSTALL, type Slapd, SUFFIX, startSlapd } from "../helpers/slapd.js";
import { tempDir } from "../helpers/workspace.js";

const T0 = new Date("2026-12-01T09:00:00.000Z");
const PEOPLE = 6;

const haveSlapd = (await findSlapd()) !== undefined;
if (!haveSlapd) {
  if (process.env.CI === "true") throw new Error(`slapd is required under CI=true: ${SLAPD_INSTALL}`);
  console.warn(`slapd not installed; skipping the frozen-directory test (${SLAPD_INSTALL})`);
}
const sqliteApp = (await appDatabaseFactories()).find(([kind]) => kind === "sqlite")![1];

function yaml(s: Slapd, app: AppDatabase): string {
  return `
database: "sqlite::memory:"
sources:
  hr: { type: csv, path: ./hr.csv }
systems:
  directory:
    connector: ldap
    timeoutSeconds: 1
    concurrency: 2
    retry: { maxAttempts: 5, baseDelaySeconds: 60, maxDelaySeconds: 60 }
    config:
      url: "${s.url}"
      bindDn: "${s.adminDn}"
      bindPassword: "${s.adminPassword}"
      # Far longer than the system's deadline: what cuts the calls off is the engine, not ldapts.
      timeoutMs: 120000
      users: { base: "ou=people,${SUFFIX}", attributes: { email: mail } }
      groups: { base: "ou=groups,${SUFFIX}" }
  app:
    connector: sql
    retry: { maxAttempts: 5, baseDelaySeconds: 60, maxDelaySeconds: 60 }
    config:
${sqlSystemConfigYaml(app)}
`;
}

describe.skipIf(!haveSlapd).each(await storeFactories())(
  "a frozen directory, store on %s",
  (_kind, makeStore) => {
    let dir: string;
    let dispose: () => Promise<void>;
    let slapd: Slapd;
    let app: AppDatabase;
    let store: TestStore;
    let config: TenureConfig;

    beforeEach(async () => {
      ({ dir, dispose } = await tempDir("tenure-frozen-"));
      [slapd, app, store] = await Promise.all([startSlapd(), sqliteApp(), makeStore()]);
      await writeFile(path.join(dir, "tenure.yaml"), yaml(slapd, app));
      await writeFile(path.join(dir, "hr.csv"), "employeeId\n");
      config = await loadConfig(path.join(dir, "tenure.yaml"));
    });
    afterEach(async () => {
      await slapd.stop(); // thaws it first
      await store.dispose();
      await app.drop();
      await dispose();
    });

    it("provisions the SQL application at once, and retries the directory's operations after it thaws", async () => {
      const people = Array.from({ length: PEOPLE }, (_, i) => [`id-${i}`, `user${i}`] as const);
      const plan = people.flatMap(([id, username]) => [
        ...joiner("directory", id, username, ["staff"]),
        ...joiner("app", id, username, ["readers"]),
      ]);
      await enqueuePlan(store, plan, {
        now: T0,
        actor: "test",
        lifecycle: { massChangeThreshold: { percent: 10, minimum: 5 } },
        systems: config.policy.systems,
      });

      const pool = connectorPool(config);
      try {
        process.kill(slapd.pid, "SIGSTOP");
        const frozen = await applyQueued(store, config, { now: () => T0, actor: "test", pool });

        // The SQL application got everything while the directory was frozen.
        const sql = frozen.outcomes.filter((o) => o.system === "app");
        expect(sql).toHaveLength(PEOPLE * 2);
        expect(sql.every((o) => o.outcome === "succeeded")).toBe(true);
        const users = await app.query<{ login: string }>("select login from app_users order by login");
        expect(users.map((u) => u.login)).toEqual(people.map(([, u]) => u).sort());
        expect(await app.query("select * from app_user_groups")).toHaveLength(PEOPLE);

        // Each directory create was cut off by the deadline and waits for a retry; its grant waits behind it.
        const directory = await operationRepository.list(store.db, { system: "directory", limit: 100 });
        const creates = directory.filter((op) => op.kind === "create");
        expect(creates).toHaveLength(PEOPLE);
        for (const op of creates) {
          expect(op).toMatchObject({ state: "failed", attempts: 1 });
          expect(op.lastError).toContain("no answer within 1 s (systems.directory.timeoutSeconds)");
          expect(Date.parse(op.nextAttemptAt)).toBeGreaterThan(T0.getTime());
        }
        expect(directory.filter((op) => op.kind === "grant").every((op) => op.state === "pending")).toBe(
          true,
        );
        const failedEvents = await queryEvents(store.db, { action: "operation.failed" });
        expect(failedEvents.map((e) => e.details.operationId as string).sort()).toEqual(
          creates.map((op) => op.id).sort(),
        );

        // Thawed: the retries, once due, succeed with the same pool (its connectors were replaced).
        process.kill(slapd.pid, "SIGCONT");
        const later = new Date(T0.getTime() + 3_600_000);
        const thawed = await applyQueued(store, config, { now: () => later, actor: "test", pool });
        expect(thawed.summary).toMatchObject({ failed: 0, dead: 0, skipped: 0, succeeded: PEOPLE * 2 });
        expect(await operationRepository.countByState(store.db)).toMatchObject({
          succeeded: PEOPLE * 4,
          failed: 0,
          dead: 0,
          pending: 0,
          running: 0,
        });
        const admin = await slapd.admin();
        try {
          const { searchEntries } = await admin.search(`cn=staff,ou=groups,${SUFFIX}`, {
            attributes: ["member"],
          });
          const members = ([] as string[]).concat(searchEntries[0]?.member as string | string[]);
          for (const [, username] of people) expect(members).toContain(`uid=${username},ou=people,${SUFFIX}`);
        } finally {
          await admin.unbind();
        }
      } finally {
        await pool.closeAll();
      }
    }, 60_000);
  },
);
