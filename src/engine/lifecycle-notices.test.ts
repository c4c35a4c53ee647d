import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { workerAttributes } from "../../test/fakes/worker-attributes.js";
import { appConnector, createAppDatabase, planned } from "../../test/fixtures/app-database.js";
import { storeFactories, type TestStore } from "../../test/helpers/databases.js";
import { tempDir } from "../../test/helpers/workspace.js";
import { queryEvents } from "../audit/ledger.js";
import type { Connector } from "../connectors/connector-types.js";
import type { PlannedOperation } from "../domain/access-types.js";
import type { Identity, LifecycleState, WorkerAttributes } from "../domain/identity-types.js";
import type { NotifyConfig } from "../notify/notify-config.js";
import type { RetryPolicy } from "../shared/backoff.js";
import { identityRepository } from "../store/identity-repository.js";
import { notificationRepository } from "../store/notification-repository.js";
import { type ApplyDeps, applyOperations } from "./apply.js";
import { enqueuePlan } from "./enqueue.js";

/**
 * The joiner and leaver notices as apply queues them (engine/lifecycle-notices.ts): a joiner's manager
 * is told once the last open create is settled — not while one is still retried — with the accounts
 * created and those that failed for good, never an account attribute; a manager without an address is recorded in
 * the ledger instead; a leaver is announced only when no account is left enabled.
 */

const T0 = new Date("2026-12-01T09:00:00.000Z");
const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);
const RETRY: RetryPolicy = { maxAttempts: 2, baseDelaySeconds: 10, maxDelaySeconds: 60 };

const NOTIFY: NotifyConfig = {
  email: {
    host: "127.0.0.1",
    port: 2525,
    secure: false,
    requireTLS: false,
    auth: null,
    from: "t@example.test",
    timeoutSeconds: 5,
  },
  webhooks: {},
  routes: {
    "joiner.accounts-created": [{ email: ["{{to}}"] }],
    "leaver.deprovisioned": [{ email: ["security@example.test"] }],
  },
  templates: {},
  retry: { maxAttempts: 3, baseDelaySeconds: 60, maxDelaySeconds: 600 },
  unreachableWindowMinutes: 60,
};
const CONFIG = { notify: NOTIFY, lifecycle: { leaver: { slaHours: 24 } } };

function person(id: string, state: LifecycleState, attributes: Partial<WorkerAttributes>): Identity {
  return {
    id,
    kind: "human",
    source: "hr",
    sourceKey: attributes.employeeId ?? id,
    state,
    attributes: workerAttributes(attributes),
    employment: 1,
    stateSince: T0.toISOString(),
    createdAt: T0.toISOString(),
    updatedAt: T0.toISOString(),
    lastRecordId: null,
    previousAttributes: null,
    attributesChangedAt: null,
  };
}

describe.each(await storeFactories())("joiner and leaver notices from apply on %s", (_kind, makeStore) => {
  let store: TestStore;
  let dir: string;
  let disposeDir: () => Promise<void>;
  let connectors: Map<string, Connector>;
  let files: Record<string, string>;

  beforeEach(async () => {
    store = await makeStore();
    ({ dir, dispose: disposeDir } = await tempDir("tenure-notices-"));
    files = { app: path.join(dir, "app.db"), broken: path.join(dir, "missing", "app.db") };
    createAppDatabase(files.app!);
    connectors = new Map();
    await identityRepository.upsertMany(store.db, [
      person("id-mia", "active", { employeeId: "M1", displayName: "Mia Manager", email: "mia@example.test" }),
      person("id-max", "active", { employeeId: "M2", displayName: "Max NoMail", email: null }),
      person("id-kim", "active", { employeeId: "E3", displayName: "Kim Future", managerId: "M1" }),
      person("id-leo", "active", { employeeId: "E4", displayName: "Leo Later", managerId: "M2" }),
      person("id-ada", "terminated", { employeeId: "E1", displayName: "Ada Lovelace", managerId: "M1" }),
    ]);
  });
  afterEach(async () => {
    for (const c of connectors.values()) await c.close();
    await store.dispose();
    await disposeDir();
  });

  const deps = (now: Date): ApplyDeps => ({
    store,
    connectors: (system) => {
      let c = connectors.get(system);
      if (c === undefined) {
        c = appConnector(system, files[system]!);
        connectors.set(system, c);
      }
      return c;
    },
    retry: () => RETRY,
    now: () => now,
    random: () => 0.5,
    workerId: "worker-1",
    notify: CONFIG,
  });
  const enqueue = (ops: PlannedOperation[], now = T0) =>
    enqueuePlan(store, ops, {
      now,
      actor: "test",
      lifecycle: { massChangeThreshold: { percent: 100, minimum: 100 } },
      systems: { app: { retry: RETRY }, broken: { retry: RETRY } },
      confirmMassChange: true,
    });
  const create = (system: string, identityId: string, username: string) =>
    planned({
      system,
      kind: "create",
      identityId,
      username,
      attributes: { email: `${username}@example.test` },
      enabled: true,
    });
  const rows = (event: string) => notificationRepository.list(store.db, { event });

  it("waits for the joiner's last create, then tells the manager once, with what failed and no secret", async () => {
    await enqueue([create("app", "id-kim", "kim"), create("broken", "id-kim", "kim")]);
    await applyOperations(deps(T0));
    // The create in `broken` failed and will be retried: provisioning is not complete.
    expect(await rows("joiner.accounts-created")).toEqual([]);
    const last = await applyOperations(deps(at(600)));
    expect(last.summary.dead).toBe(1);
    const [notice, ...more] = await rows("joiner.accounts-created");
    expect(more).toEqual([]);
    expect(notice?.recipient).toBe("mia@example.test");
    expect(notice?.body).toContain("- app: kim\n");
    expect(notice?.body).toMatch(/Not created: - broken: kim \(failed for good: .+\)/);
    // Only systems and logins: no account attribute reaches the outbox.
    expect(JSON.stringify(notice)).not.toContain("kim@example.test");

    // A later account of the same employment (a mover's new system) does not tell the manager again.
    await enqueue([create("app", "id-kim", "kim2")], at(700));
    await applyOperations(deps(at(700)));
    expect(await rows("joiner.accounts-created")).toHaveLength(1);
  });

  it("records, instead of sending, a joiner whose manager has no address", async () => {
    await enqueue([create("app", "id-leo", "leo")]);
    const result = await applyOperations(deps(T0));
    expect(result.summary.succeeded).toBe(1);
    expect(await rows("joiner.accounts-created")).toEqual([]);
    const skipped = await queryEvents(store.db, { action: "notification.skipped" });
    expect(skipped.map((e) => [e.subject, e.details])).toEqual([
      [
        "id-leo",
        {
          event: "joiner.accounts-created",
          reason: "the manager Max NoMail has no email address",
          employment: 1,
        },
      ],
    ]);
  });

  it("announces a leaver only when no account is left enabled, with each system's disable time", async () => {
    // Ada's accounts, created before she left (she is terminated now: no joiner notice for her).
    await enqueue([create("app", "id-ada", "ada"), create("app", "id-ada", "ada-admin")]);
    await applyOperations(deps(T0));
    expect(await rows("joiner.accounts-created")).toEqual([]);
    await enqueue(
      [planned({ system: "app", kind: "disable", identityId: "id-ada", username: "ada" })],
      at(60),
    );
    await applyOperations(deps(at(3600)));
    // ada-admin is still enabled: not deprovisioned yet.
    expect(await rows("leaver.deprovisioned")).toEqual([]);
    await enqueue(
      [planned({ system: "app", kind: "delete", identityId: "id-ada", username: "ada-admin" })],
      at(3700),
    );
    await applyOperations(deps(at(7200)));
    const [notice, ...more] = await rows("leaver.deprovisioned");
    expect(more).toEqual([]);
    expect(notice?.recipient).toBe("security@example.test");
    // Per system, the first confirmed disable or delete after the termination.
    expect(notice?.body).toContain(
      `- app: ada disabled at ${at(3600).toISOString()}, 1 h after termination (within SLA)`,
    );
    expect(notice?.payload).toMatchObject({ hours: 2, withinSla: true, slaHours: 24 });
  });
});
