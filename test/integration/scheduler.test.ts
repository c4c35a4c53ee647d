/**
 * What happens without a push, end to end: the scheduler's real jobs (scheduledJobs) on a clock the test
 * moves, Tenure's store on SQLite and PostgreSQL, a real `sql` application (SQLite app tables) as the
 * target and a real SMTP server (`smtp-server`) receiving the contractor warning. A prehire becomes
 * active on the start date and their account is enabled; a contractor's manager is warned N days
 * before, and the contractor is terminated on the end date with the account disabled; after
 * lifecycle.deleteAfterDays the identity is deleted with its account; an expired assignment is revoked;
 * each jump of the clock is a catch-up, one run per job, audited with how late; a sweep past the
 * mass-change threshold stops, records the stop, notifies and changes nothing.
 */
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { queryEvents, verifyLedger } from "../../src/audit/ledger.js";
import { runSync } from "../../src/engine/run-sync.js";
import { scheduledJobs } from "../../src/engine/scheduled-jobs.js";
import { createScheduler, type Scheduler } from "../../src/engine/scheduler.js";
import { soleLeadership } from "../../src/engine/scheduler-leadership.js";
import { loadConfig } from "../../src/policy/config-loader.js";
import type { TenureConfig } from "../../src/policy/config-types.js";
import { assignmentRepository } from "../../src/store/assignment-repository.js";
import { identityRepository } from "../../src/store/identity-repository.js";
import { notificationRepository } from "../../src/store/notification-repository.js";
import { scheduleRunRepository } from "../../src/store/schedule-run-repository.js";
import { createAppDatabase, readApp } from "../fixtures/app-database.js";
import { storeFactories, type TestStore } from "../helpers/databases.js";
import { type SmtpSink, startSmtpSink } from "../helpers/smtp-sink.js";
import { storeSnapshot } from "../helpers/store-snapshot.js";
import { tempDir, writeHrCsv } from "../helpers/workspace.js";

function yaml(appFile: string, smtpPort: number): string {
  return `
database: sqlite:./unused.db
sources:
  hr: { type: csv, path: ./hr.csv, timeZone: Europe/London }
lifecycle:
  prehireDays: 7
  deleteAfterDays: 30
  contractorWarningDays: 14
  massChangeThreshold: { percent: 25, minimum: 2 }
systems:
  app:
    connector: sql
    account: { username: "{givenName}.{familyName}", attributes: { email: "{email}" } }
    config:
      url: "sqlite:${appFile}"
      users: { table: app_users, id: id, username: login, enabled: { column: active }, attributes: { email: mail } }
      memberships: { table: app_user_groups, user: user_id, group: group_name }
entitlements:
  app:
    readers: { displayName: Readers }
    deployers: { displayName: Deployers }
roles:
  staff:
    when: "true"
    grants: [{ system: app, entitlements: [readers] }]
notify:
  email: { smtp: "smtp://127.0.0.1:${smtpPort}", from: "Tenure <tenure@example.test>", timeoutSeconds: 5 }
  routes:
    contractor.expiry-warning: [{ email: ["{{managerEmail}}"] }]
    mass-change.stopped: [{ email: [secops@example.test] }]
server:
  schedule: { lifecycle: "0 * * * *", reconcile: "0 3 * * *", notify: "*/5 * * * *" }
`;
}

// employeeId,givenName,familyName,email,department,title,managerId,employmentType,status,startDate,endDate,terminationDate
const ADA = "E1,Ada,Lovelace,ada@example.test,Eng,Lead,,employee,active,2026-01-05,,";
const KIM = "E2,Kim,Future,kim@example.test,Eng,Dev,E1,employee,active,2026-03-05,,";
const CY = "E3,Cy,Contract,cy@example.test,Eng,Temp,E1,contractor,active,2026-01-05,2026-03-20,";
const OTHERS = ["E4", "E5", "E6", "E7", "E8"].map(
  (k) => `${k},P${k},Person,${k.toLowerCase()}@example.test,Ops,Staff,E1,employee,active,2026-01-05,,`,
);

/** 09:00 in London on `day` (GMT until 29 March, BST after): the hour the lifecycle job runs at. */
const london = (day: string, time = "09:00") =>
  new Date(`${day}T${time}:00${day >= "2026-03-29" ? "+01:00" : "Z"}`);

describe.each(await storeFactories())("scheduled lifecycle on a %s store", (_kind, makeStore) => {
  let store: TestStore;
  let dir: string;
  let disposeDir: () => Promise<void>;
  let appFile: string;
  let smtp: SmtpSink;
  let config: TenureConfig;
  let clock: Date;
  const stops: Array<() => Promise<void>> = [];

  beforeEach(async () => {
    ({ dir, dispose: disposeDir } = await tempDir("tenure-scheduler-"));
    appFile = path.join(dir, "app.db");
    createAppDatabase(appFile);
    smtp = await startSmtpSink();
    await writeFile(path.join(dir, "tenure.yaml"), yaml(appFile, smtp.port));
    config = await loadConfig(path.join(dir, "tenure.yaml"), { env: {} });
    store = await makeStore();
  });
  afterEach(async () => {
    for (const stop of stops.splice(0)) await stop();
    await store.dispose();
    await smtp.stop();
    await disposeDir();
  });

  /** A scheduler as `tenure serve` makes one, on the test's clock; a new one is a restarted process. */
  function scheduler(options: { confirmMassChange?: string } = {}): Scheduler {
    const now = () => clock;
    const s = createScheduler({
      store,
      jobs: scheduledJobs({ store, config, now, actor: "scheduler", ...options }),
      now,
      timeZone: config.server.schedule.timeZone,
      leadership: soleLeadership(),
    });
    stops.push(() => s.stop());
    return s;
  }

  const account = (login: string) => readApp(appFile).users.find((u) => u.login === login);
  const groups = (login: string) =>
    readApp(appFile)
      .memberships.filter((m) => m.login === login)
      .map((m) => m.group);
  const stateOf = async (key: string) =>
    (await identityRepository.list(store.db)).find((i) => i.sourceKey === key)?.state;

  it("starts, warns, ends, expires and deletes on the calendar alone, catching up after each jump", async () => {
    await writeHrCsv(dir, [ADA, KIM, CY, ...OTHERS]);
    clock = london("2026-03-01");
    await runSync(store, config, { now: clock, actor: "test" });
    // Kim starts on the 5th: inside the 7-day pre-hire window, so the account exists, disabled.
    expect(account("kim.future")?.active).toBe(0);
    const grace = (await identityRepository.list(store.db)).find((i) => i.sourceKey === "E4");
    await assignmentRepository.insert(
      store.db,
      {
        id: "asg-1",
        identityId: grace?.id ?? "",
        target: { system: "app", entitlement: "deployers" },
        employment: 1,
        validFrom: "2026-03-01T00:00:00.000Z",
        validUntil: "2026-03-10T12:00:00.000Z",
        reason: "release week",
        approvedBy: "ada",
        revokedAt: null,
      },
      clock.toISOString(),
    );

    // First start ever: every job runs once at once.
    const first = await scheduler().runDue();
    expect(first.runs.map((r) => [r.job, r.status, r.caughtUp])).toEqual([
      ["lifecycle", "succeeded", false],
      ["reconcile:app", "succeeded", false],
      ["notify", "succeeded", false],
    ]);
    expect(groups("pe4.person")).toEqual(["deployers", "readers"]);

    // Down until the 5th, 09:00 (London). The restarted process catches up: each job once.
    clock = london("2026-03-05");
    const restarted = scheduler();
    restarted.start();
    await vi.waitFor(async () =>
      expect((await scheduleRunRepository.list(store.db)).map((r) => [r.job, r.runs])).toEqual([
        ["lifecycle", 2],
        ["notify", 2],
        ["reconcile:app", 2],
      ]),
    );
    await restarted.stop();
    expect(await stateOf("E2")).toBe("active");
    expect(account("kim.future")?.active).toBe(1);
    const started = await queryEvents(store.db, { action: "identity.state_changed" });
    expect(started.map((e) => [e.actor, e.details.reason, e.details.cause])).toContainEqual([
      "scheduler",
      "scheduled: started on 2026-03-05",
      "date",
    ]);
    const late = (await queryEvents(store.db, { action: "schedule.ran" })).map((e) => [
      e.details.job,
      e.details.due,
      e.details.lateSeconds,
    ]);
    expect(late).toEqual(
      expect.arrayContaining([
        ["lifecycle", london("2026-03-01", "10:00").toISOString(), 4 * 86_400 - 3600],
        ["reconcile:app", london("2026-03-02", "03:00").toISOString(), 3 * 86_400 + 6 * 3600],
      ]),
    );

    // The 6th: Cy's contract ends in 14 days; Ada, the manager, is told by email.
    clock = london("2026-03-06");
    await scheduler().runDue();
    clock = london("2026-03-06", "09:05");
    await scheduler().runDue();
    // (Joiners' managers are told of their accounts too: joiner.accounts-created.)
    const warning = await vi.waitFor(() => {
      const found = smtp.messages.find((m) => m.subject.startsWith("Contract of"));
      if (found === undefined) throw new Error("no contract warning delivered yet");
      return found;
    });
    expect(warning).toMatchObject({
      to: ["ada@example.test"],
      subject: "Contract of Cy Contract ends on 2026-03-20",
    });
    expect(warning?.text).toContain("in 14 days");
    // Warned once per end date, however often the sweep runs in the window.
    clock = london("2026-03-07");
    await scheduler().runDue();
    expect(await notificationRepository.list(store.db, { event: "contractor.expiry-warning" })).toHaveLength(
      1,
    );

    // 10 March, 12:00 UTC: the assignment expires; the next hourly sweep revokes it.
    clock = new Date("2026-03-10T13:00:00Z");
    await scheduler().runDue();
    expect(groups("pe4.person")).toEqual(["readers"]);

    // The end date: Cy is terminated by the calendar and the account disabled.
    clock = london("2026-03-20");
    await scheduler().runDue();
    expect(await stateOf("E3")).toBe("terminated");
    expect(account("cy.contract")?.active).toBe(0);
    const ended = await queryEvents(store.db, { action: "identity.state_changed" });
    expect(ended.map((e) => e.details.reason)).toContain("scheduled: contractor end date 2026-03-20 reached");

    // 30 days later (the hour the sweep ran on the 20th): the identity is deleted, and the account with it.
    clock = new Date(london("2026-03-20").getTime() + 30 * 86_400_000);
    await scheduler().runDue();
    expect(await stateOf("E3")).toBe("deleted");
    expect(account("cy.contract")).toBeUndefined();
    expect(account("ada.lovelace")?.active).toBe(1);
    expect((await verifyLedger(store.db)).ok).toBe(true);
  });

  it("stops a sweep that would end too many contracts at once: recorded, notified, nothing changed", async () => {
    const contractors = ["C1", "C2", "C3"].map(
      (k) =>
        `${k},${k},Temp,${k.toLowerCase()}@example.test,Ops,Temp,E1,contractor,active,2026-01-05,2026-03-20,`,
    );
    await writeHrCsv(dir, [ADA, ...contractors, ...OTHERS]);
    clock = london("2026-03-01");
    await runSync(store, config, { now: clock, actor: "test" });
    await scheduler().runDue();
    const before = readApp(appFile);
    const snapshot = await storeSnapshot(store.db);

    clock = london("2026-03-20");
    const stopped = await scheduler().runDue({ only: ["lifecycle"] });
    expect(stopped.runs[0]).toMatchObject({ job: "lifecycle", status: "failed" });
    expect(stopped.runs[0]?.error).toMatch(/^mass_change: source hr: this run would terminate 3 of 9/);
    expect(await stateOf("C1")).toBe("active");
    expect(readApp(appFile)).toEqual(before);
    const [stop] = await queryEvents(store.db, { action: "mass-change.stopped" });
    const planHash = String(stop?.details.planHash);
    expect(stop?.details).toMatchObject({
      run: "scheduled lifecycle sweep",
      exceeded: expect.arrayContaining([{ kind: "source", name: "hr", disable: 3, delete: 0, total: 9 }]),
    });
    expect(stopped.runs[0]?.error).toContain(`Plan hash ${planHash}`);
    // Nothing but the stop and the scheduler's own record of the failed run.
    const afterStop = await storeSnapshot(store.db);
    expect({ ...afterStop, events: snapshot.events }).toEqual(snapshot);
    expect(afterStop.events).toBe(snapshot.events + 2);
    expect((await queryEvents(store.db, { action: "schedule.failed" })).map((e) => e.details.job)).toEqual([
      "lifecycle",
    ]);
    const queued = await notificationRepository.list(store.db, {});
    expect(queued.map((n) => [n.event, n.recipient])).toContainEqual([
      "mass-change.stopped",
      "secops@example.test",
    ]);

    // Confirmed (tenure schedule run lifecycle --confirm-mass-change): it goes through, and says who confirmed.
    const confirmed = await scheduler({ confirmMassChange: planHash }).runDue({ only: ["lifecycle"] });
    expect(confirmed.runs[0]?.status).toBe("succeeded");
    expect(await stateOf("C1")).toBe("terminated");
    expect(
      readApp(appFile)
        .users.filter((u) => u.login.endsWith(".temp"))
        .map((u) => u.active),
    ).toEqual([0, 0, 0]);
    expect(await queryEvents(store.db, { action: "sync.mass_change_confirmed" })).toHaveLength(1);
    expect((await verifyLedger(store.db)).ok).toBe(true);
  });
});
