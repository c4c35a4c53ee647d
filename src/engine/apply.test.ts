import { mkdir } from "node:fs/promises";
import path from "node:path";
import BetterSqlite3 from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  appConnector,
  createAppDatabase,
  joiner,
  planned,
  readApp,
} from "../../test/fixtures/app-database.js";
import { storeFactories, type TestStore } from "../../test/helpers/databases.js";
import { tempDir } from "../../test/helpers/workspace.js";
import { queryEvents, verifyLedger } from "../audit/ledger.js";
import type { Connector } from "../connectors/connector-types.js";
import type { PlannedOperation } from "../domain/access-types.js";
import { validateConfigText } from "../policy/config-loader.js";
import type { RetryPolicy } from "../shared/backoff.js";
import { MassChangeError } from "../shared/errors.js";
import { accountRepository } from "../store/account-repository.js";
import { notificationRepository } from "../store/notification-repository.js";
import { operationRepository } from "../store/operation-repository.js";
import { type ApplyDeps, applyOperations, checkMassChange, massChangesOf } from "./apply.js";
import { enqueuePlan, retryDeadOperation } from "./enqueue.js";

const T0 = new Date("2026-12-01T09:00:00.000Z");
const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);
const RETRY: RetryPolicy = { maxAttempts: 3, baseDelaySeconds: 10, maxDelaySeconds: 60 };
const LIFECYCLE = { massChangeThreshold: { percent: 10, minimum: 5 } };
const SYSTEMS = { app: { retry: RETRY }, broken: { retry: RETRY }, bare: { retry: RETRY } };

describe("checkMassChange", () => {
  const disables = (system: string, n: number) =>
    Array.from({ length: n }, (_, i) => planned({ system, kind: "disable", username: `u${i}` }));

  it("lets through changes at or under the minimum, or under the percentage", () => {
    expect(() =>
      checkMassChange(disables("app", 5), { app: 10 }, LIFECYCLE.massChangeThreshold),
    ).not.toThrow();
    expect(() =>
      checkMassChange(disables("app", 9), { app: 100 }, LIFECYCLE.massChangeThreshold),
    ).not.toThrow();
  });

  it("stops with exit code 3, naming each system over the threshold with its counts", () => {
    const ops = [
      ...disables("app", 4),
      ...Array.from({ length: 3 }, (_, i) => planned({ system: "app", kind: "delete", username: `d${i}` })),
      // The same account disabled and deleted counts once.
      planned({ system: "app", kind: "delete", username: "u0" }),
      ...disables("crm", 6),
      ...disables("big", 6),
      planned({ system: "app", kind: "revoke", username: "u1", entitlement: "g" }),
    ];
    const err = (() => {
      try {
        checkMassChange(ops, { app: 20, crm: 6, big: 1000 }, LIFECYCLE.massChangeThreshold);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(MassChangeError);
    const mass = err as MassChangeError;
    expect(mass.exitCode).toBe(3);
    expect(mass.counts).toEqual({
      "system:app": { disable: 4, delete: 4, total: 20 },
      "system:crm": { disable: 6, delete: 0, total: 6 },
    });
    expect(mass.message).toContain("accounts in app (disable 4, delete 4 of 20 accounts), crm (disable 6");
    expect(mass.message).toContain("--confirm-mass-change");
    expect(
      massChangesOf(ops, { app: 20, crm: 6, big: 1000 }, LIFECYCLE.massChangeThreshold).map((c) => c.system),
    ).toEqual(["app", "crm"]);
  });
});

describe.each(await storeFactories())("apply on %s", (_name, makeStore) => {
  let store: TestStore;
  let dir: string;
  let disposeDir: () => Promise<void>;
  let appFile: string;
  let connectors: Map<string, Connector>;
  let connectorFiles: Record<string, string>;

  beforeEach(async () => {
    store = await makeStore();
    ({ dir, dispose: disposeDir } = await tempDir("tenure-apply-"));
    appFile = path.join(dir, "app.db");
    createAppDatabase(appFile);
    const bareFile = path.join(dir, "bare.db");
    new BetterSqlite3(bareFile).close();
    connectorFiles = { app: appFile, broken: path.join(dir, "missing", "app.db"), bare: bareFile };
    connectors = new Map();
  });
  afterEach(async () => {
    for (const connector of connectors.values()) await connector.close();
    await store.dispose();
    await disposeDir();
  });

  const connectorOf = (system: string): Connector => {
    let connector = connectors.get(system);
    if (connector === undefined) {
      const file = connectorFiles[system];
      if (file === undefined) throw new Error(`system ${system} is not configured`);
      connector = appConnector(system, file);
      connectors.set(system, connector);
    }
    return connector;
  };
  const deps = (now: Date, extra: Partial<ApplyDeps> = {}): ApplyDeps => ({
    store,
    connectors: connectorOf,
    retry: () => RETRY,
    now: () => now,
    random: () => 0.5,
    workerId: "worker-1",
    ...extra,
  });
  const enqueue = (ops: PlannedOperation[], now = T0, confirmMassChange = false) =>
    enqueuePlan(store, ops, {
      now,
      actor: "cli:alice",
      lifecycle: LIFECYCLE,
      systems: SYSTEMS,
      confirmMassChange,
    });
  const events = (action: string) => queryEvents(store.db, { action });

  it("creates, grants and disables in the app tables, and records accounts and audit events", async () => {
    const plan = [
      ...joiner("app", "id-ada", "ada", ["staff", "vpn"]),
      planned({ system: "app", kind: "disable", identityId: "id-ada", username: "ada", reason: "Ada left" }),
      ...joiner("app", "id-bob", "bob", ["staff"]),
    ];
    expect((await enqueue(plan)).queued).toHaveLength(6);
    const result = await applyOperations(deps(T0));
    expect(result.summary).toEqual({
      claimed: 6,
      succeeded: 6,
      changed: 6,
      awaiting: 0,
      failed: 0,
      dead: 0,
      skipped: 0,
      released: 0,
    });
    expect(result.dead).toEqual([]);

    const app = readApp(appFile);
    expect(app.users.map((u) => [u.login, u.mail, u.active])).toEqual([
      ["ada", "ada@example.test", 0],
      ["bob", "bob@example.test", 1],
    ]);
    expect(app.memberships).toEqual([
      { login: "ada", group: "staff" },
      { login: "ada", group: "vpn" },
      { login: "bob", group: "staff" },
    ]);

    const ada = await accountRepository.find(store.db, "app", "ada");
    expect(ada).toMatchObject({
      nativeId: String(app.users[0]!.id),
      identityId: "id-ada",
      enabled: false,
      managed: true,
      attributes: { email: "ada@example.test" },
      entitlements: ["staff", "vpn"],
      managedEntitlements: ["staff", "vpn"],
    });
    expect(await operationRepository.countByState(store.db)).toMatchObject({ succeeded: 6, pending: 0 });

    expect(await events("operation.queued")).toHaveLength(6);
    const succeeded = await events("operation.succeeded");
    expect(succeeded).toHaveLength(6);
    const disable = succeeded.find((e) => e.details.kind === "disable")!;
    expect(disable).toMatchObject({
      actor: "worker:worker-1",
      subject: "id-ada",
      time: T0.toISOString(),
      details: {
        system: "app",
        kind: "disable",
        username: "ada",
        entitlement: null,
        identity: "id-ada",
        reason: "Ada left",
        lineage: [{ kind: "lifecycle", policy: "test", note: "planned by a test" }],
        attempts: 1,
        changed: true,
      },
    });
    expect((await verifyLedger(store.db)).ok).toBe(true);

    // The rest of the kinds: revoke, update, enable, delete.
    await enqueue(
      [
        planned({ system: "app", kind: "revoke", identityId: "id-ada", username: "ada", entitlement: "vpn" }),
        planned({
          system: "app",
          kind: "update",
          identityId: "id-ada",
          username: "ada",
          attributes: { email: "a@x.test" },
        }),
        planned({ system: "app", kind: "enable", identityId: "id-ada", username: "ada" }),
        planned({ system: "app", kind: "delete", identityId: "id-bob", username: "bob" }),
      ],
      at(60),
    );
    expect((await applyOperations(deps(at(60)))).summary).toMatchObject({ succeeded: 4, changed: 4 });
    const after = readApp(appFile);
    expect(after.users.map((u) => [u.login, u.mail, u.active])).toEqual([["ada", "a@x.test", 1]]);
    expect(after.memberships).toEqual([{ login: "ada", group: "staff" }]);
    expect(await accountRepository.find(store.db, "app", "bob")).toBeUndefined();
    expect(await accountRepository.find(store.db, "app", "ada")).toMatchObject({
      enabled: true,
      attributes: { email: "a@x.test" },
      entitlements: ["staff"],
      managedEntitlements: ["staff"],
    });
  });

  it("queues a change once however often it is planned", async () => {
    const plan = joiner("app", "id-ada", "ada", ["staff", "vpn"]);
    expect((await enqueue(plan)).queued).toHaveLength(3);
    const second = await enqueue(plan, at(1));
    expect(second.queued).toEqual([]);
    expect(second.alreadyQueued).toHaveLength(3);
    expect((await applyOperations(deps(at(2)))).summary.succeeded).toBe(3);
    expect(await events("operation.queued")).toHaveLength(3);
    expect(readApp(appFile).memberships).toHaveLength(2);
  });

  it("retries an unreachable system with backoff, holds the grant behind its create, and goes dead after max attempts", async () => {
    await enqueue(joiner("broken", "id-x", "xavier", ["staff"]));
    const [create, grant] = await operationRepository.list(store.db);

    // Attempt 1: the create fails; the grant is not even tried.
    let result = await applyOperations(deps(T0));
    expect(result.outcomes.map((o) => [o.kind, o.outcome])).toEqual([["create", "failed"]]);
    expect(result.outcomes[0]!.nextAttemptAt).toBe(at(5).toISOString()); // 0.5 · 10 s
    const row = (await operationRepository.find(store.db, create!.id))!;
    expect(row).toMatchObject({ state: "failed", attempts: 1, nextAttemptAt: at(5).toISOString() });
    expect(row.lastError).toMatch(/^broken: create account "xavier" failed on sqlite:.*missing/);
    expect((await operationRepository.find(store.db, grant!.id))!.state).toBe("pending");
    const [failed] = await events("operation.failed");
    expect(failed!.details).toMatchObject({
      kind: "create",
      attempts: 1,
      retryable: true,
      nextAttemptAt: at(5).toISOString(),
    });

    // Not due yet; then attempt 2 (0.5 · 20 s later).
    expect((await applyOperations(deps(at(4)))).summary.claimed).toBe(0);
    result = await applyOperations(deps(at(5)));
    expect(result.outcomes.map((o) => [o.kind, o.outcome, o.nextAttemptAt])).toEqual([
      ["create", "failed", at(15).toISOString()],
    ]);

    // Attempt 3 is the last: dead, reported, and audited as the alert hook.
    result = await applyOperations(deps(at(15)));
    expect(result.dead.map((o) => [o.kind, o.attempts])).toEqual([["create", 3]]);
    const [dead] = await events("operation.dead");
    expect(dead!.details).toMatchObject({
      kind: "create",
      attempts: 3,
      maxAttempts: 3,
      why: "attempts exhausted",
    });
    // A dead operation is no longer open, so the grant behind it is tried (and fails the same way).
    expect(result.outcomes.map((o) => [o.kind, o.outcome])).toEqual([
      ["create", "dead"],
      ["grant", "failed"],
    ]);

    // Someone fixes the system and retries the dead create: it runs before the grant again.
    await mkdir(path.join(dir, "missing"));
    createAppDatabase(connectorFiles.broken!);
    const retried = await retryDeadOperation(store, create!.id, { now: at(100), actor: "cli:bob" });
    expect(retried).toMatchObject({ state: "pending", attempts: 0 });
    expect((await events("operation.retried"))[0]).toMatchObject({ actor: "cli:bob", subject: "id-x" });
    result = await applyOperations(deps(at(100)));
    expect(result.outcomes.map((o) => [o.kind, o.outcome])).toEqual([
      ["create", "succeeded"],
      ["grant", "succeeded"],
    ]);
    expect(readApp(connectorFiles.broken!).memberships).toEqual([{ login: "xavier", group: "staff" }]);
  });

  it("sends a non-retryable failure (missing table) to dead at once", async () => {
    await enqueue(joiner("bare", "id-y", "yara", []));
    const result = await applyOperations(deps(T0));
    expect(result.summary).toMatchObject({ claimed: 1, dead: 1, failed: 0 });
    expect(result.dead[0]).toMatchObject({ kind: "create", attempts: 1 });
    expect(result.dead[0]!.error).toMatch(/^bare: .*no such table/);
    const [dead] = await events("operation.dead");
    expect(dead!.details).toMatchObject({ retryable: false, why: "not retryable" });
  });

  it("with a notify section, queues connector.unreachable once per window and operation.dead when it dies", async () => {
    const { config, errors } = await validateConfigText(
      [
        "notify:",
        "  webhooks: { siem: { url: http://127.0.0.1:9/hook, format: json } }",
        "  routes:",
        "    operation.dead: [ { webhook: siem } ]",
        "    connector.unreachable: [ { webhook: siem } ]",
        "  unreachableWindowMinutes: 30",
      ].join("\n"),
      { path: path.join(dir, "tenure.yaml"), env: {} },
    );
    expect(errors).toEqual([]);
    await enqueue(joiner("broken", "id-x", "xavier", []));
    const outbox = () => notificationRepository.list(store.db);
    // Attempts 1 and 2 fail inside one window: one unreachable alert. Attempt 3 is the last: dead.
    for (const seconds of [0, 60, 600]) await applyOperations({ ...deps(at(seconds)), notify: config! });
    const rows = await outbox();
    expect(rows.map((r) => r.event).sort()).toEqual(["connector.unreachable", "operation.dead"]);
    const dead = rows.find((r) => r.event === "operation.dead")!;
    expect(dead.payload).toMatchObject({ system: "broken", kind: "create", username: "xavier", attempts: 3 });
    // Queued in the transaction that recorded the death.
    const [deadEvent] = await events("operation.dead");
    expect(dead.createdAt).toBe(deadEvent!.time);
  });

  it("fails the operations of a system it has no connector for, without retry", async () => {
    await enqueue([planned({ system: "gone", kind: "disable", identityId: "id-z", username: "zed" })]);
    const result = await applyOperations(deps(T0));
    expect(result.dead.map((o) => o.error)).toEqual(["gone: system gone is not configured"]);
  });

  it("re-executes an operation whose worker crashed after the write, as a no-op recorded once", async () => {
    await enqueue(joiner("app", "id-ada", "ada", []));
    const [claimed] = await operationRepository.claimDue(store.db, {
      now: T0,
      limit: 10,
      workerId: "crashed",
      leaseSeconds: 60,
    });
    // The crashed worker's write landed; its record never did.
    expect(
      (await connectorOf("app").create({ username: "ada", attributes: {}, enabled: true })).changed,
    ).toBe(true);

    expect((await applyOperations(deps(at(30)))).summary.claimed).toBe(0); // its lease still holds
    const result = await applyOperations(deps(at(61)));
    expect(result.outcomes).toMatchObject([
      { id: claimed!.id, outcome: "succeeded", changed: false, attempts: 2 },
    ]);
    expect(readApp(appFile).users).toHaveLength(1);
    expect(await events("operation.succeeded")).toHaveLength(1);
    expect(await accountRepository.find(store.db, "app", "ada")).toMatchObject({
      managed: true,
      identityId: "id-ada",
    });
  });

  it("gives up without running again an operation whose workers kept dying on it", async () => {
    await enqueue(joiner("app", "id-ada", "ada", []));
    for (let i = 0; i < RETRY.maxAttempts; i++) {
      const claimed = await operationRepository.claimDue(store.db, {
        now: at(i * 100),
        limit: 1,
        workerId: `ghost-${i}`,
        leaseSeconds: 60,
      });
      expect(claimed).toHaveLength(1);
    }
    const result = await applyOperations(deps(at(1000)));
    expect(result.dead).toHaveLength(1);
    expect(result.dead[0]!.error).toContain("abandoned after 3 attempt(s)");
    expect(readApp(appFile).users).toEqual([]);
  });

  it("stops on abort: in-flight work is recorded, claimed work not started is released", async () => {
    await enqueue(Array.from({ length: 5 }, (_, i) => joiner("app", `id-${i}`, `user${i}`, [])).flat());
    const controller = new AbortController();
    // The stop arrives while the first create is in flight at the system.
    const stopDuringFirstWrite = (system: string): Connector => {
      const real = connectorOf(system);
      return {
        ...real,
        create: (spec) => {
          controller.abort();
          return real.create(spec);
        },
      };
    };
    const result = await applyOperations(deps(T0, { concurrency: 1, connectors: stopDuringFirstWrite }), {
      signal: controller.signal,
    });
    expect(result.summary).toMatchObject({ claimed: 5, succeeded: 1, released: 4 });
    expect(await operationRepository.list(store.db, { state: "running" })).toEqual([]);
    const pending = await operationRepository.list(store.db, { state: "pending" });
    expect(pending.map((r) => [r.attempts, r.claimedBy])).toEqual(Array(4).fill([0, null]));
    expect((await applyOperations(deps(T0), { limit: 2 })).summary.succeeded).toBe(2);
  });

  it("stops a mass change before anything is queued, and lets it through when confirmed", async () => {
    const accounts = Array.from({ length: 10 }, (_, i) => ({
      system: "app",
      nativeId: String(i + 1),
      username: `user${i}`,
      identityId: `id-${i}`,
      enabled: true,
      attributes: {},
      entitlements: [],
      managedEntitlements: [],
      managed: true,
      lastSeenAt: null,
      lastUsedAt: null,
    }));
    await accountRepository.upsertMany(store.db, accounts, T0.toISOString());
    const plan = accounts
      .slice(0, 6)
      .map((a) =>
        planned({ system: "app", kind: "disable", identityId: a.identityId, username: a.username }),
      );

    const err = await enqueue(plan).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MassChangeError);
    expect((err as MassChangeError).exitCode).toBe(3);
    expect((err as MassChangeError).counts).toEqual({ "system:app": { disable: 6, delete: 0, total: 10 } });
    expect(await operationRepository.list(store.db)).toEqual([]);
    expect(await queryEvents(store.db)).toEqual([]);
    expect((await applyOperations(deps(T0))).summary.claimed).toBe(0);

    const confirmed = await enqueue(plan, T0, true);
    expect(confirmed.queued).toHaveLength(6);
    expect(confirmed.massChangeConfirmed).toEqual([{ system: "app", disable: 6, delete: 0, total: 10 }]);
    const [audit] = await events("operation.mass_change_confirmed");
    expect(audit).toMatchObject({
      actor: "cli:alice",
      subject: "system:app",
      details: { confirmedBy: "cli:alice" },
    });
    // Planning the same changes again while they are queued does not ask again.
    expect((await enqueue(plan, at(1))).alreadyQueued).toHaveLength(6);
  });
});
