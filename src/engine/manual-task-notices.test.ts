/**
 * Joiner and leaver notices for a manual system (issue 18): its creates and disables are done by a
 * person, so they are recorded when the task is marked done, not when apply runs. The manager learns of
 * the account once the task is done (not before: the account does not exist yet), and the security
 * contacts learn that a leaver is deprovisioned once the disable task is done, at the time it was done.
 * On SQLite and PostgreSQL.
 */
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { storeFactories, type TestStore } from "../../test/helpers/databases.js";
import { tempDir, writeHrCsv } from "../../test/helpers/workspace.js";
import { queryEvents } from "../audit/ledger.js";
import { loadConfig } from "../policy/config-loader.js";
import type { TenureConfig } from "../policy/config-types.js";
import { notificationRepository } from "../store/notification-repository.js";
import { taskRepository } from "../store/task-repository.js";
import { cancelTask, completeTask } from "./manual-tasks.js";
import { runSync } from "./run-sync.js";

const YAML = `
database: sqlite:./tenure.db
sources:
  hr: { type: csv, path: ./hr.csv }
lifecycle:
  leaver: { slaHours: 24 }
systems:
  legacy:
    connector: manual
    account: { username: "{givenName}.{familyName}" }
    config: { fulfiller: it-desk@example.test, slaHours: 8 }
  archive:
    connector: manual
    account: { username: "{givenName}.{familyName}" }
    config: { fulfiller: it-desk@example.test, slaHours: 8 }
roles:
  staff:
    when: "employmentType == 'employee'"
    grants: [{ system: legacy }]
  engineer:
    when: "department == 'Engineering'"
    grants: [{ system: archive }]
notify:
  email: { smtp: "smtp://127.0.0.1:2525", from: tenure@example.test }
  securityContacts: [security@example.test]
`;

// employeeId,givenName,familyName,email,department,title,managerId,employmentType,status,startDate,endDate,terminationDate
const MIA = "M1,Mia,Manager,mia@example.test,Finance,Controller,,employee,active,2026-01-05,,";
const ADA = "E1,Ada,Lovelace,ada@example.test,Engineering,SRE,M1,employee,active,2026-03-02,,";
const ADA_LEFT =
  "E1,Ada,Lovelace,ada@example.test,Engineering,SRE,M1,employee,terminated,2026-03-02,,2026-03-10";
const HOUR = 3_600_000;
const at = (day: string, hours = 9) => new Date(Date.parse(`${day}T00:00:00Z`) + hours * HOUR);

describe.each(await storeFactories())(
  "joiner and leaver notices of a manual system on %s",
  (_name, makeStore) => {
    let store: TestStore;
    let config: TenureConfig;
    let dir: string;
    let disposeDir: () => Promise<void>;

    beforeEach(async () => {
      store = await makeStore();
      ({ dir, dispose: disposeDir } = await tempDir("tenure-manual-notices-"));
      await writeFile(path.join(dir, "tenure.yaml"), YAML);
      config = await loadConfig(path.join(dir, "tenure.yaml"));
    });
    afterEach(async () => {
      await store.dispose();
      await disposeDir();
    });

    const sync = async (now: Date, rows: string[]) => {
      await writeHrCsv(dir, rows);
      return runSync(store, config, { now, actor: "test" });
    };
    const notices = (event: string) => notificationRepository.list(store.db, { event });
    const tasksOf = async (username: string) =>
      (await taskRepository.list(store.db)).filter((t) => t.username === username);

    it("tells the manager once the tasks are done, and the security contacts once the disables are", async () => {
      await sync(at("2026-03-02"), [MIA, ADA]);
      const creates = await tasksOf("ada.lovelace");
      expect(creates.map((t) => `${t.kind} ${t.system}`).sort()).toEqual(["create archive", "create legacy"]);
      // Handed to a person, nothing exists yet: nothing to tell.
      expect(await notices("joiner.accounts-created")).toEqual([]);

      const legacy = creates.find((t) => t.system === "legacy")!;
      const archive = creates.find((t) => t.system === "archive")!;
      await completeTask(store, legacy.id, { by: "alice", now: at("2026-03-02", 11), notify: config });
      // One account of two: the manager is told when the last one is done, in one message.
      expect(await notices("joiner.accounts-created")).toEqual([]);
      await completeTask(store, archive.id, { by: "alice", now: at("2026-03-02", 12), notify: config });
      const [joiner, ...moreJoiners] = await notices("joiner.accounts-created");
      expect(moreJoiners).toEqual([]);
      expect(joiner?.recipient).toBe("mia@example.test");
      expect(joiner?.body).toContain("- archive: ada.lovelace\n- legacy: ada.lovelace");
      expect(joiner?.payload).toMatchObject({
        employeeId: "E1",
        accounts: [
          { system: "archive", username: "ada.lovelace" },
          { system: "legacy", username: "ada.lovelace" },
        ],
      });

      // She leaves: the disables are tasks too; deprovisioned once both are done, with each one's time.
      await sync(at("2026-03-10", 0), [MIA, ADA_LEFT]);
      const disables = (await tasksOf("ada.lovelace")).filter((t) => t.kind === "disable");
      expect(disables.map((t) => t.system).sort()).toEqual(["archive", "legacy"]);
      expect(await notices("leaver.deprovisioned")).toEqual([]);
      await completeTask(store, disables.find((t) => t.system === "legacy")!.id, {
        by: "bob",
        now: at("2026-03-10", 3),
        notify: config,
      });
      expect(await notices("leaver.deprovisioned")).toEqual([]);
      await completeTask(store, disables.find((t) => t.system === "archive")!.id, {
        by: "bob",
        now: at("2026-03-10", 5),
        notify: config,
      });
      const [leaver, ...moreLeavers] = await notices("leaver.deprovisioned");
      expect(moreLeavers).toEqual([]);
      expect(leaver?.recipient).toBe("security@example.test");
      expect(leaver?.payload).toMatchObject({
        employeeId: "E1",
        terminatedAt: at("2026-03-10", 0).toISOString(),
        hours: 5,
        withinSla: true,
        systems: [
          {
            system: "archive",
            username: "ada.lovelace",
            status: "disabled",
            at: at("2026-03-10", 5).toISOString(),
            hours: 5,
          },
          {
            system: "legacy",
            username: "ada.lovelace",
            status: "disabled",
            at: at("2026-03-10", 3).toISOString(),
            hours: 3,
          },
        ],
      });
      expect(leaver?.body).toContain(
        `- legacy: ada.lovelace disabled at ${at("2026-03-10", 3).toISOString()}`,
      );
    });

    it("counts a cancelled create as failed for good: the manager hears of the account that exists", async () => {
      await sync(at("2026-03-02"), [MIA, ADA]);
      const creates = await tasksOf("ada.lovelace");
      await cancelTask(store, creates.find((t) => t.system === "archive")!.id, {
        by: "alice",
        reason: "archive is retired",
        now: at("2026-03-02", 10),
        notify: config,
      });
      expect(await notices("joiner.accounts-created")).toEqual([]);
      await completeTask(store, creates.find((t) => t.system === "legacy")!.id, {
        by: "alice",
        now: at("2026-03-02", 11),
        notify: config,
      });
      const [joiner, ...more] = await notices("joiner.accounts-created");
      expect(more).toEqual([]);
      expect(joiner?.payload).toMatchObject({
        accounts: [{ system: "legacy", username: "ada.lovelace" }],
        notCreated: [{ system: "archive", username: "ada.lovelace" }],
      });
    });

    it("records why nothing was sent when the joiner has no manager, with the task's actor", async () => {
      await sync(at("2026-03-02"), [MIA]);
      const [task] = await tasksOf("mia.manager");
      await completeTask(store, task!.id, { by: "alice", now: at("2026-03-02", 11), notify: config });
      expect(await notices("joiner.accounts-created")).toEqual([]);
      const skipped = await queryEvents(store.db, { action: "notification.skipped" });
      expect(skipped.map((e) => [e.actor, e.details.event])).toEqual([
        ["user:alice", "joiner.accounts-created"],
      ]);
    });
  },
);
