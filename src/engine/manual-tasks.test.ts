/**
 * The manual connector's form of the connector conformance suite. The shared suite
 * (test/conformance/connector-conformance.ts) calls a connector's methods and reads the target back
 * after each write; a system with no API cannot be read back, so here the same lifecycle — create,
 * update, disable, enable, grant, grant again, revoke, delete — runs through the engine, with a person's
 * step (`completeTask`) between each write, against SQLite and PostgreSQL stores. What is checked is
 * what Tenure promises for such a system: one task per change, the identity's later changes wait behind
 * an open task, an operation succeeds (and its account changes) only when its task is done, at the real
 * time, and the audit says who did it.
 */
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { storeFactories, type TestStore } from "../../test/helpers/databases.js";
import { tempDir, writeHrCsv } from "../../test/helpers/workspace.js";
import { queryEvents, verifyLedger } from "../audit/ledger.js";
import { loadConfig } from "../policy/config-loader.js";
import type { TenureConfig } from "../policy/config-types.js";
import { InvalidInputError, NotFoundError } from "../shared/errors.js";
import { accountRepository } from "../store/account-repository.js";
import { operationRepository } from "../store/operation-repository.js";
import { taskRepository } from "../store/task-repository.js";
import { retryDeadOperation } from "./enqueue.js";
import { alertOverdueTasks, cancelTask, completeTask, resolveTask, TaskStateError } from "./manual-tasks.js";
import { applyQueued, computeProvisionPlan, connectorPool } from "./provision.js";
import { reconcileSystem } from "./reconcile.js";
import { runSync } from "./run-sync.js";

const YAML = `
database: sqlite:./tenure.db
sources:
  hr:
    type: csv
    path: ./hr.csv
lifecycle:
  deleteAfterDays: 30
systems:
  legacy:
    connector: manual
    owner: legacy-owner@example.test
    account:
      username: "{givenName}.{familyName}"
      attributes: { email: "{email}", displayName: "{givenName} {familyName}" }
    config:
      fulfiller: it-desk@example.test
      slaHours: 8
      url: https://legacy.example.test/admin
entitlements:
  legacy:
    payroll-viewer: { displayName: Payroll viewer }
roles:
  staff:
    when: "employmentType == 'employee'"
    grants: [{ system: legacy, entitlements: [] }]
  engineer:
    when: "department == 'Engineering'"
    includes: [staff]
    grants: [{ system: legacy, entitlements: [payroll-viewer] }]
notify:
  email:
    smtp: smtp://127.0.0.1:2525
    from: tenure@example.test
  routes:
    task.overdue:
      - email: ["{{fulfiller}}", "{{owner}}"]
`;

// employeeId,givenName,familyName,email,department,title,managerId,employmentType,status,startDate,endDate,terminationDate
const ADA = "E1,Ada,Lovelace,ada@example.test,Engineering,SRE,,employee,active,2026-01-05,,";
const HOUR = 3_600_000;
const at = (day: string, hours = 9) => new Date(Date.parse(`${day}T00:00:00Z`) + hours * HOUR);

describe.each(await storeFactories())("manual system tasks on %s", (_name, makeStore) => {
  let store: TestStore;
  let config: TenureConfig;
  let dir: string;
  let disposeDir: () => Promise<void>;

  beforeEach(async () => {
    store = await makeStore();
    ({ dir, dispose: disposeDir } = await tempDir("tenure-manual-"));
    await writeFile(path.join(dir, "tenure.yaml"), YAML);
    config = await loadConfig(path.join(dir, "tenure.yaml"));
  });
  afterEach(async () => {
    await store.dispose();
    await disposeDir();
  });

  async function sync(now: Date, rows: string[] = [ADA]) {
    await writeHrCsv(dir, rows);
    return runSync(store, config, { now, actor: "test" });
  }
  const openTasks = () => taskRepository.list(store.db);
  const legacyAccount = () => accountRepository.find(store.db, "legacy", "ada.lovelace");
  const events = async (action: string) =>
    (await queryEvents(store.db, { limit: 10_000 })).filter((e) => e.action === action);

  it("hands the create to a person, holds the grant behind it, and succeeds when the task is done", async () => {
    const t0 = at("2026-03-02");
    const first = await sync(t0);
    expect(first.provisioned?.queued?.queued.map((o) => o.kind)).toEqual(["create", "grant"]);
    expect(first.provisioned?.applied?.summary).toMatchObject({ claimed: 1, awaiting: 1, succeeded: 0 });
    const [task] = await openTasks();
    expect(task).toMatchObject({
      system: "legacy",
      kind: "create",
      username: "ada.lovelace",
      fulfiller: "it-desk@example.test",
      state: "open",
      createdAt: t0.toISOString(),
      dueAt: new Date(t0.getTime() + 8 * HOUR).toISOString(),
    });
    expect(task!.instructions).toContain("Create the account ada.lovelace in legacy, enabled");
    expect(task!.instructions).toContain("  email: ada@example.test");
    expect(task!.instructions).toContain("Application: https://legacy.example.test/admin");
    const create = await operationRepository.find(store.db, task!.operationId);
    expect(create).toMatchObject({ state: "awaiting", finishedAt: null, claimedBy: null });
    const [awaiting] = await events("operation.awaiting");
    expect(awaiting?.details).toMatchObject({
      taskId: task!.id,
      fulfiller: "it-desk@example.test",
      slaHours: 8,
    });
    expect(await legacyAccount()).toBeUndefined();
    expect(await taskRepository.countOpen(store.db, new Date(t0.getTime() + 7 * HOUR))).toEqual({
      open: 1,
      overdue: 0,
    });
    expect(await taskRepository.countOpen(store.db, new Date(t0.getTime() + 8 * HOUR))).toEqual({
      open: 1,
      overdue: 1,
    });

    // Re-planning queues nothing new, and the grant behind the open task is never claimed.
    const again = await sync(new Date(t0.getTime() + HOUR));
    expect(again.provisioned?.queued?.queued).toEqual([]);
    expect(again.provisioned?.queued?.alreadyQueued.map((o) => o.kind)).toEqual(["create", "grant"]);
    expect(again.provisioned?.applied?.summary.claimed).toBe(0);
    expect(await openTasks()).toHaveLength(1);
    expect((await operationRepository.list(store.db, { state: "pending" })).map((o) => o.kind)).toEqual([
      "grant",
    ]);
    // Reconcile does not read a system with no API, and reports what Tenure recorded.
    const report = await reconcileSystem(
      store,
      config.policy,
      "legacy",
      connectorPool(config).get("legacy"),
      {
        now: t0,
        actor: "test",
      },
    );
    expect(report).toMatchObject({ read: false, accounts: 0, orphans: [], vanished: [] });

    // Done three hours after it was handed out: that is when the operation finished.
    const doneAt = new Date(t0.getTime() + 3 * HOUR);
    const done = await completeTask(store, task!.id, {
      by: "alice",
      note: "created in the admin screen",
      now: doneAt,
      recordedBy: "cli:root",
    });
    expect(done.task).toMatchObject({ state: "done", doneBy: "user:alice", doneAt: doneAt.toISOString() });
    expect(await operationRepository.find(store.db, create!.id)).toMatchObject({
      state: "succeeded",
      finishedAt: doneAt.toISOString(),
    });
    expect(await legacyAccount()).toMatchObject({
      identityId: create!.identityId,
      enabled: true,
      attributes: { email: "ada@example.test", displayName: "Ada Lovelace" },
      entitlements: [],
      managed: true,
    });
    const succeeded = (await events("operation.succeeded")).at(-1)!;
    expect(succeeded.actor).toBe("user:alice");
    expect(succeeded.time).toBe(doneAt.toISOString());
    expect(succeeded.details).toMatchObject({
      operationId: create!.id,
      kind: "create",
      taskId: task!.id,
      doneBy: "alice",
      note: "created in the admin screen",
      tookHours: 3,
      slaHours: 8,
      withinSla: true,
      recordedBy: "cli:root",
    });

    // The grant now runs: a second task. When it is done too, the next plan is empty.
    await sync(new Date(doneAt.getTime() + HOUR));
    const [grant] = await openTasks();
    expect(grant).toMatchObject({ kind: "grant", entitlement: "payroll-viewer" });
    await completeTask(store, grant!.id, { by: "alice", now: new Date(doneAt.getTime() + 2 * HOUR) });
    expect((await legacyAccount())?.entitlements).toEqual(["payroll-viewer"]);
    const plan = await computeProvisionPlan(store, config, { now: new Date(doneAt.getTime() + 3 * HOUR) });
    expect(plan.operations).toEqual([]);
    expect((await verifyLedger(store.db)).ok).toBe(true);
  });

  it("runs the whole lifecycle with a person's step between each write, one task per change", async () => {
    let clock = at("2026-03-02");
    const done: string[] = [];
    /** Runs the day, then does every task it hands out (and those they release), re-planning between. */
    async function day(date: string, rows: string[]) {
      clock = at(date);
      for (;;) {
        await sync(clock, rows);
        const tasks = await openTasks();
        // Planning again while tasks are open hands out nothing new.
        await sync(new Date(clock.getTime() + 60_000), rows);
        expect((await openTasks()).map((t) => t.id)).toEqual(tasks.map((t) => t.id));
        if (tasks.length === 0) return;
        clock = new Date(clock.getTime() + HOUR);
        for (const t of tasks) {
          await completeTask(store, t.id, { by: "bob", now: clock });
          done.push(t.entitlement === null ? t.kind : `${t.kind} ${t.entitlement}`);
        }
      }
    }

    await day("2026-03-02", [ADA.replace("Engineering", "Sales")]);
    expect(done.splice(0)).toEqual(["create"]);
    await day("2026-03-03", [ADA.replace("Engineering", "Sales").replace("ada@", "ada.l@")]);
    expect(done.splice(0)).toEqual(["update"]);
    expect((await legacyAccount())?.attributes.email).toBe("ada.l@example.test");
    await day("2026-03-04", [
      ADA.replace("Engineering", "Sales").replace("ada@", "ada.l@").replace(",active,", ",leave,"),
    ]);
    expect(done.splice(0)).toEqual(["disable"]);
    expect((await legacyAccount())?.enabled).toBe(false);
    await day("2026-03-05", [ADA.replace("ada@", "ada.l@")]);
    // Back from leave, now in Engineering: enabled, and granted the role's entitlement — once.
    expect(done.splice(0).sort()).toEqual(["enable", "grant payroll-viewer"]);
    expect(await legacyAccount()).toMatchObject({ enabled: true, entitlements: ["payroll-viewer"] });
    await day("2026-03-06", [ADA.replace("ada@", "ada.l@")]);
    expect(done.splice(0)).toEqual([]);
    await day("2026-03-09", [ADA.replace("ada@", "ada.l@").replace("Engineering", "Sales")]);
    expect(done.splice(0)).toEqual(["revoke payroll-viewer"]);
    expect((await legacyAccount())?.entitlements).toEqual([]);
    const leaver = ADA.replace("ada@", "ada.l@")
      .replace("Engineering", "Sales")
      .replace(",active,", ",terminated,");
    await day("2026-03-10", [`${leaver}2026-03-10`]);
    expect(done.splice(0)).toEqual(["disable"]);
    await day("2026-04-10", [`${leaver}2026-03-10`]);
    expect(done.splice(0)).toEqual(["delete"]);
    expect(await legacyAccount()).toBeUndefined();
    expect((await computeProvisionPlan(store, config, { now: at("2026-04-11") })).operations).toEqual([]);

    // Every change was one task and one operation, each finished when its task was done.
    const all = await taskRepository.list(store.db, { state: "all" });
    expect(all.every((t) => t.state === "done")).toBe(true);
    const ops = await operationRepository.list(store.db, { limit: 1000 });
    expect(ops).toHaveLength(all.length);
    for (const t of all) {
      expect(ops.find((o) => o.id === t.operationId)?.finishedAt).toBe(t.doneAt);
    }
    expect((await verifyLedger(store.db)).ok).toBe(true);
  });

  it("alerts about an overdue task once, through the outbox and the audit", async () => {
    const t0 = at("2026-03-02");
    await sync(t0);
    const [task] = await openTasks();
    expect(await alertOverdueTasks(store, config, new Date(t0.getTime() + 7 * HOUR))).toEqual({
      alerted: [],
      notifications: 0,
    });
    const late = await alertOverdueTasks(store, config, new Date(t0.getTime() + 9 * HOUR));
    expect(late.alerted.map((t) => t.id)).toEqual([task!.id]);
    expect(late.notifications).toBe(1);
    const again = await alertOverdueTasks(store, config, new Date(t0.getTime() + 30 * HOUR));
    expect(again.alerted).toEqual([]);

    const outbox = await store.db.selectFrom("notifications").selectAll().execute();
    expect(outbox).toHaveLength(1);
    expect(outbox[0]).toMatchObject({
      event: "task.overdue",
      channel: "email",
      recipient: "it-desk@example.test, legacy-owner@example.test",
      subject: "Tenure: overdue task — create ada.lovelace in legacy",
    });
    expect(outbox[0]!.body).toContain(`tenure tasks done ${task!.id} --by`);
    expect(outbox[0]!.body).toContain("Create the account ada.lovelace in legacy");
    const [audited] = await events("task.overdue");
    expect(audited?.details).toMatchObject({ taskId: task!.id, overdueHours: 1, notifications: 1 });
    expect(await events("task.overdue")).toHaveLength(1);

    const done = await completeTask(store, task!.id, {
      by: "carol",
      now: new Date(t0.getTime() + 31 * HOUR),
    });
    expect(done.task.overdueNotifiedAt).toBe(new Date(t0.getTime() + 9 * HOUR).toISOString());
    expect((await events("operation.succeeded")).at(-1)?.details).toMatchObject({
      tookHours: 31,
      withinSla: false,
    });
  });

  it("refuses to complete a task twice, an unknown task, or one whose operation no longer awaits it", async () => {
    const t0 = at("2026-03-02");
    await sync(t0);
    const [task] = await openTasks();
    const later = new Date(t0.getTime() + HOUR);
    await expect(completeTask(store, task!.id, { by: "  ", now: later })).rejects.toBeInstanceOf(
      InvalidInputError,
    );
    await expect(completeTask(store, task!.id, { by: "eve\u001b[31m", now: later })).rejects.toThrow(/--by/);
    await expect(
      completeTask(store, "0190ffff-0000-7000-8000-000000000000", { by: "a", now: later }),
    ).rejects.toBeInstanceOf(NotFoundError);

    // An operation no longer awaiting (changed behind Tenure's back): nothing changes, the task stays open.
    await store.db
      .updateTable("operations")
      .set({ state: "dead" })
      .where("id", "=", task!.operationId)
      .execute();
    const before = (await queryEvents(store.db, { limit: 10_000 })).length;
    await expect(completeTask(store, task!.id, { by: "alice", now: later })).rejects.toThrow(
      /its operation .* is dead, not awaiting; nothing was changed/,
    );
    expect((await taskRepository.find(store.db, task!.id))?.state).toBe("open");
    expect(await legacyAccount()).toBeUndefined();
    await store.db
      .updateTable("operations")
      .set({ state: "awaiting" })
      .where("id", "=", task!.operationId)
      .execute();

    await completeTask(store, task!.id, { by: "alice", now: later });
    const err = await completeTask(store, task!.id, { by: "bob", now: later }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TaskStateError);
    expect((err as TaskStateError).message).toBe(
      `task ${task!.id} is already done (by user:alice at ${later.toISOString()}); nothing was changed`,
    );
    // The first completion's operation.succeeded and its account's journal record; the refusal adds none.
    expect((await queryEvents(store.db, { limit: 10_000 })).map((e) => e.action).slice(before)).toEqual([
      "account.recorded",
      "operation.succeeded",
    ]);

    // Tasks are named by their first characters too, as `tasks list` shows them.
    expect((await resolveTask(store.db, task!.id.slice(0, 13))).id).toBe(task!.id);
    await expect(resolveTask(store.db, "zz%")).rejects.toBeInstanceOf(NotFoundError);
  });

  it("hands a cancelled task out again when its operation is retried by hand, and keeps one task per operation", async () => {
    const t0 = at("2026-03-02");
    await sync(t0);
    const [task] = await openTasks();
    await cancelTask(store, task!.id, { by: "alice", reason: "not yet", now: new Date(t0.getTime() + HOUR) });
    await retryDeadOperation(store, task!.operationId, {
      now: new Date(t0.getTime() + 2 * HOUR),
      actor: "cli:root",
    });
    // The retried operation runs again and gets its task row back, open, with a new due time.
    const rerun = await applyQueued(store, config, {
      now: () => new Date(t0.getTime() + 2 * HOUR),
      actor: "t",
    });
    expect(rerun.outcomes.map((o) => [o.kind, o.outcome, o.task?.id])).toEqual([
      ["create", "awaiting", task!.id],
    ]);
    expect(await taskRepository.find(store.db, task!.id)).toMatchObject({
      state: "open",
      doneBy: null,
      note: null,
      createdAt: new Date(t0.getTime() + 2 * HOUR).toISOString(),
      dueAt: new Date(t0.getTime() + 10 * HOUR).toISOString(),
    });
    expect(
      await taskRepository.insertMany(store.db, [{ ...task!, dueAt: new Date(0) }], new Date(0)),
    ).toMatchObject([
      { id: task!.id, state: "open", dueAt: new Date(t0.getTime() + 10 * HOUR).toISOString() },
    ]);
    await completeTask(store, task!.id, { by: "alice", now: new Date(t0.getTime() + 3 * HOUR) });
    expect((await legacyAccount())?.enabled).toBe(true);
  });

  it("cancels a task: its operation goes dead, releases the queue, and the next plan hands the change out again", async () => {
    const t0 = at("2026-03-02");
    await sync(t0);
    const [task] = await openTasks();
    const cancelled = await cancelTask(store, task!.id, {
      by: "alice",
      reason: "wrong application",
      now: new Date(t0.getTime() + HOUR),
    });
    expect(cancelled.operation).toMatchObject({
      state: "dead",
      lastError: `legacy: task ${task!.id} cancelled by user:alice: wrong application`,
    });
    expect((await events("operation.dead")).at(-1)).toMatchObject({
      actor: "user:alice",
      details: { taskId: task!.id, why: "task cancelled", cancelledBy: "alice" },
    });
    await expect(
      cancelTask(store, task!.id, { by: "alice", reason: "again", now: new Date(t0.getTime() + HOUR) }),
    ).rejects.toBeInstanceOf(TaskStateError);
    await expect(cancelTask(store, task!.id, { by: "alice", reason: " ", now: t0 })).rejects.toThrow(
      /--reason/,
    );

    // The grant that waited behind the create is released: it is handed out now, and the create,
    // still wanted, is queued again behind it. Cancelling the grant too lets the create through.
    const released = await applyQueued(store, config, {
      now: () => new Date(t0.getTime() + 2 * HOUR),
      actor: "t",
    });
    expect(released.outcomes.map((o) => [o.kind, o.outcome])).toEqual([["grant", "awaiting"]]);
    const requeued = await sync(new Date(t0.getTime() + 2 * HOUR));
    expect(requeued.provisioned?.queued?.queued.map((o) => o.kind)).toEqual(["create"]);
    const [grant] = await openTasks();
    await cancelTask(store, grant!.id, {
      by: "alice",
      reason: "no account yet",
      now: new Date(t0.getTime() + 3 * HOUR),
    });
    await sync(new Date(t0.getTime() + 3 * HOUR));
    expect((await openTasks()).map((t) => t.kind)).toEqual(["create"]);
  });
});
