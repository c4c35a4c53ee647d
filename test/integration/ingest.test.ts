import { writeFile } from "node:fs/promises";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { queryEvents, verifyLedger } from "../../src/audit/ledger.js";
import type { Connector } from "../../src/connectors/connector-types.js";
import { enqueuePlan } from "../../src/engine/enqueue.js";
import { planIdentities } from "../../src/engine/identity-plan.js";
import { type IngestRequest, ingestRecords } from "../../src/engine/ingest.js";
import { type ConnectorPool, connectorPool } from "../../src/engine/provision.js";
import { reconcileSystem } from "../../src/engine/reconcile.js";
import { loadConfig } from "../../src/policy/config-loader.js";
import type { TenureConfig } from "../../src/policy/config-types.js";
import {
  InvalidInputError,
  MassChangeError,
  NotFoundError,
  PlanChangedError,
  TenureError,
} from "../../src/shared/errors.js";
import { identityRepository } from "../../src/store/identity-repository.js";
import { operationRepository } from "../../src/store/operation-repository.js";
import { personLock } from "../../src/store/person-lock.js";
import { type AppDatabase, appDatabaseFactories, sqlSystemConfigYaml } from "../helpers/app-databases.js";
import { type StoreFactory, storeFactories, type TestStore } from "../helpers/databases.js";
import { expectOnlyTheStop, storeSnapshot } from "../helpers/store-snapshot.js";
import { tempDir } from "../helpers/workspace.js";

function yaml(app: AppDatabase): string {
  return `
sources:
  hr:
    type: push
    columns: { givenName: first_name, familyName: last_name }
  files:
    type: csv
    path: ./hr.csv
lifecycle: { massChangeThreshold: { percent: 25, minimum: 2 } }
systems:
  app:
    connector: sql
    account: { username: "{givenName}.{familyName}", attributes: { email: "{email}" } }
    config:
${sqlSystemConfigYaml(app)}
entitlements:
  app: { readers: { displayName: Readers }, deployers: { displayName: Deployers }, team-ada: { displayName: Team } }
roles:
  # Everyone with a job reads; engineers deploy; Ada's reports join her team (a rule on the manager).
  staff: { when: "employmentType != 'intern'", grants: [{ system: app, entitlements: [readers] }] }
  engineer: { when: "department == 'Engineering'", grants: [{ system: app, entitlements: [deployers] }] }
  ada-team: { when: "managerId == 'E1'", grants: [{ system: app, entitlements: [team-ada] }] }
`;
}

const NOW = new Date("2026-03-02T10:00:00Z");

/** A record as an HR system would push it to source `hr` (its own field names for the names). */
function person(key: string, extra: Record<string, string | null> = {}): Record<string, string | null> {
  return {
    employeeId: key,
    first_name: `P${key}`,
    last_name: "Person",
    email: `${key.toLowerCase()}@example.test`,
    department: "Ops",
    startDate: "2026-01-05",
    ...extra,
  };
}

const ADA = person("E1", { first_name: "Ada", last_name: "Lovelace", department: "Engineering" });

interface AppUser {
  login: string;
  active: number;
  mail: string | null;
  groups: string[];
}

/** Pairs each store database with an application database of the same kind. */
async function combinations(): Promise<Array<[string, StoreFactory, () => Promise<AppDatabase>]>> {
  const apps = new Map(await appDatabaseFactories());
  return (await storeFactories()).flatMap(([kind, makeStore]) => {
    const makeApp = apps.get(kind);
    return makeApp === undefined
      ? []
      : [[kind, makeStore, makeApp] as [string, StoreFactory, () => Promise<AppDatabase>]];
  });
}

describe.each(await combinations())(
  "ingestRecords on %s (store and application tables)",
  (_kind, makeStore, makeApp) => {
    let app: AppDatabase;
    let store: TestStore;
    let config: TenureConfig;
    let disposeDir: () => Promise<void>;

    beforeEach(async () => {
      app = await makeApp();
      const ws = await tempDir("tenure-ingest-");
      disposeDir = ws.dispose;
      await writeFile(path.join(ws.dir, "tenure.yaml"), yaml(app));
      config = await loadConfig(path.join(ws.dir, "tenure.yaml"), { env: {} });
      store = await makeStore();
    });
    afterEach(async () => {
      await store.dispose();
      await app.drop();
      await disposeDir();
    });

    const push = (rows: IngestRequest["rows"], extra: Partial<IngestRequest> = {}) =>
      ingestRecords(store, config, { source: "hr", rows, actor: "token:hr-feed", now: NOW, ...extra });

    async function users(): Promise<Map<string, AppUser>> {
      const rows = await app.query<{
        login: string;
        active: number | string;
        mail: string | null;
        group_name: string | null;
      }>(
        "select u.login, u.active, u.mail, g.group_name from app_users u left join app_user_groups g on g.user_id = u.id order by u.login, g.group_name",
      );
      const out = new Map<string, AppUser>();
      for (const r of rows) {
        const u = out.get(r.login) ?? { login: r.login, active: Number(r.active), mail: r.mail, groups: [] };
        if (r.group_name !== null) u.groups.push(r.group_name);
        out.set(r.login, u);
      }
      return out;
    }

    async function counts() {
      const n = async (table: "identities" | "source_records" | "audit_events" | "operations") =>
        Number(
          (
            await store.db
              .selectFrom(table)
              .select(store.db.fn.countAll<number>().as("n"))
              .executeTakeFirstOrThrow()
          ).n,
        );
      return {
        identities: await n("identities"),
        records: await n("source_records"),
        events: await n("audit_events"),
        operations: await n("operations"),
      };
    }

    it("a joiner push creates the identity and provisions it before returning", async () => {
      const result = await push([ADA]);
      expect(result.results).toEqual([
        { row: 1, key: "E1", identityId: expect.any(String), status: "created", findings: [] },
      ]);
      expect(result.operations).toEqual({ queued: 3, succeeded: 3, failed: 0, dead: 0, pending: 0 });
      expect(result.recomputed).toEqual([result.results[0]?.identityId]);
      expect((await users()).get("ada.lovelace")).toEqual({
        login: "ada.lovelace",
        active: 1,
        mail: "e1@example.test",
        groups: ["deployers", "readers"],
      });
      const identity = await identityRepository.findById(store.db, result.results[0]!.identityId!);
      expect(identity).toMatchObject({ source: "hr", sourceKey: "E1", state: "active" });
      // The same record again is unchanged and recomputes nobody.
      const again = await push([ADA]);
      expect(again.results[0]).toMatchObject({ status: "unchanged", identityId: identity?.id });
      expect(again.operations.queued).toBe(0);
      expect(again.recomputed).toEqual([]);
      const actors = await store.db.selectFrom("audit_events").select(["actor", "action"]).execute();
      expect(actors).toContainEqual({ actor: "token:hr-feed", action: "identity.created" });
      expect((await verifyLedger(store.db)).ok).toBe(true);
    });

    it("applies only the pushed people's operations, leaving other queued work to the workers", async () => {
      const other = await push([person("E5")], { provision: false });
      const otherId = other.results[0]!.identityId!;
      const otherIdentity = await identityRepository.findById(store.db, otherId);
      const planned = await planIdentities(store, config, [otherIdentity!], NOW);
      await enqueuePlan(store, planned.operations, {
        now: NOW,
        actor: "test",
        lifecycle: config.lifecycle,
        systems: config.policy.systems,
      });
      const ada = await push([ADA]);
      expect(ada.operations).toMatchObject({ succeeded: ada.operations.queued, pending: 0 });
      const waiting = await operationRepository.list(store.db, { identityId: otherId });
      expect(waiting.length).toBeGreaterThan(0);
      expect(waiting.every((op) => op.state === "pending")).toBe(true);
      expect((await users()).has("pe5.person")).toBe(false);
    });

    it("a mover push recomputes the person and, as a rule reads managerId, their reports", async () => {
      await push([ADA]);
      // Grace reports to Ada; her record arrives without provisioning, so she has no account yet.
      const grace = person("E2", { first_name: "Grace", last_name: "Hopper", managerId: "E1" });
      const recorded = await push([grace], { provision: false });
      expect(recorded.results[0]?.status).toBe("created");
      expect((await users()).has("grace.hopper")).toBe(false);

      // Ada moves from Engineering to Ops: her deployers go at once, and her report is planned with her.
      const moved = await push([{ ...ADA, department: "Ops", title: "Manager" }]);
      expect(moved.results[0]?.status).toBe("updated");
      expect(moved.recomputed).toHaveLength(2);
      expect(moved.recomputed).toContain(recorded.results[0]?.identityId);
      const u = await users();
      expect(u.get("ada.lovelace")?.groups).toEqual(["readers"]);
      expect(u.get("grace.hopper")).toMatchObject({ active: 1, groups: ["readers", "team-ada"] });

      // A report's own move is planned with no one else: her rule about Ada no longer holds.
      const graceMoves = await push([{ ...grace, managerId: null }]);
      expect(graceMoves.recomputed).toEqual([recorded.results[0]?.identityId]);
      expect((await users()).get("grace.hopper")?.groups).toEqual(["readers"]);
    });

    it("a leaver push disables every account before it returns", async () => {
      const joined = await push([ADA]);
      expect((await users()).get("ada.lovelace")?.active).toBe(1);
      const left = await push([{ ...ADA, status: "terminated", terminationDate: "2026-03-02" }]);
      expect(left.results[0]).toMatchObject({
        status: "terminated",
        identityId: joined.results[0]?.identityId,
      });
      expect(left.operations).toMatchObject({
        succeeded: left.operations.queued,
        pending: 0,
        failed: 0,
        dead: 0,
      });
      expect((await users()).get("ada.lovelace")?.active).toBe(0);

      // As a server pushes: connectors kept open across pushes. Ten leavers, one push each. How fast
      // is measured by bench/leaver-latency.bench.ts, not here.
      const people = Array.from({ length: 10 }, (_, i) => person(`L${i}`));
      await push(people);
      const pool = connectorPool(config);
      try {
        for (const p of people) {
          const r = await push([{ ...p, status: "terminated", terminationDate: "2026-03-02" }], {
            connectors: pool,
          });
          expect(r.operations).toMatchObject({ queued: 1, succeeded: 1, pending: 0 });
        }
      } finally {
        await pool.closeAll();
      }
      expect(
        [...(await users()).values()].filter((u) => u.login.startsWith("pl")).every((u) => u.active === 0),
      ).toBe(true);
    });

    it("rejects bad rows with the row and field, writes the good ones, and a bad push changes nothing", async () => {
      await push([ADA]);
      const before = await counts();
      const bad = await push([
        person("E7", { last_name: "", startDate: "31/02/2026" }),
        person("E8", { email: "not-an-email" }),
      ]);
      expect(bad.results.map((r) => [r.row, r.key, r.status, r.identityId])).toEqual([
        [1, "E7", "rejected", null],
        [2, "E8", "rejected", null],
      ]);
      expect(bad.results[0]?.findings.map((f) => [f.code, f.field])).toEqual([
        ["invalid_date", "startDate"],
        ["missing_required", "familyName"],
      ]);
      expect(bad.results[0]?.findings[1]?.message).toContain('familyName (column "last_name")');
      expect(bad.results[1]?.findings.map((f) => [f.code, f.field])).toEqual([["malformed_email", "email"]]);
      expect(await counts()).toEqual(before);

      // A change to a known person that fails a rule leaves them as they were.
      const adaBad = await push([{ ...ADA, status: "terminated" }]);
      expect(adaBad.results[0]).toMatchObject({ status: "rejected", identityId: expect.any(String) });
      expect(adaBad.results[0]?.findings.map((f) => f.code)).toEqual(["terminated_without_date"]);
      expect(await counts()).toEqual(before);
      expect((await users()).get("ada.lovelace")?.active).toBe(1);

      const mixed = await push([person("E9"), person("E9", { first_name: "Twin" }), person("E10")]);
      expect(mixed.results.map((r) => r.status)).toEqual(["rejected", "rejected", "created"]);
      expect(mixed.results[0]?.findings.map((f) => f.code)).toEqual(["duplicate_key"]);
      expect((await users()).has("pe10.person")).toBe(true);

      const after = await counts();
      await expect(push([{ ...person("E11"), lastname: "typo" }])).rejects.toBeInstanceOf(InvalidInputError);
      await expect(push([person("E12")], { source: "nope" })).rejects.toBeInstanceOf(NotFoundError);
      await expect(push([person("E12")], { source: "files" })).rejects.toMatchObject({
        code: "source_not_push",
        httpStatus: 409,
      });
      await expect(push([person("E12")], { source: "files" })).rejects.toBeInstanceOf(TenureError);
      expect(await counts()).toEqual(after);
    });

    it("stops a push that would pass the mass-change threshold, changing nothing, and lets it through when confirmed", async () => {
      const people = ["E1", "E2", "E3", "E4", "E5", "E6"].map((k) => person(k));
      await push(people);
      const before = await storeSnapshot(store.db);
      const leavers = people
        .slice(0, 4)
        .map((p) => ({ ...p, status: "terminated", terminationDate: "2026-03-02" }));
      const error = await push(leavers).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(MassChangeError);
      const { planHash, counts: stopCounts } = error as MassChangeError;
      // One stop, one event, for both protections: the source's terminations and the system's disables.
      expect(stopCounts).toHaveProperty("source:hr");
      expect(stopCounts).toHaveProperty("system:app");
      const stop = await expectOnlyTheStop(store.db, before, planHash);
      expect(stop.details).toMatchObject({ run: "push to source hr" });
      expect([...(await users()).values()].every((u) => u.active === 1)).toBe(true);

      // A confirmation of a plan that is not this push's is refused and writes nothing.
      const stale = await push(leavers.slice(0, 3), { confirmMassChange: planHash }).catch((e: unknown) => e);
      expect(stale).toBeInstanceOf(PlanChangedError);
      expect((await storeSnapshot(store.db)).events).toBe(before.events + 1);

      const confirmed = await push(leavers, { confirmMassChange: planHash });
      expect(confirmed.results.map((r) => r.status)).toEqual([
        "terminated",
        "terminated",
        "terminated",
        "terminated",
      ]);
      expect([...(await users()).values()].filter((u) => u.active === 0)).toHaveLength(4);
      const [sourceConfirm] = await queryEvents(store.db, { action: "sync.mass_change_confirmed" });
      expect(sourceConfirm?.details).toMatchObject({ planHash });
      expect((await verifyLedger(store.db)).ok).toBe(true);
    });

    it("serialises 50 concurrent pushes for one person: the last wins, each push's operations in order", async () => {
      await push([ADA]);
      const pushes = Array.from({ length: 50 }, (_, i) => push([{ ...ADA, email: `ada+${i}@example.test` }]));
      const results = await Promise.all(pushes);
      expect(results.every((r) => r.results[0]?.status === "updated")).toBe(true);
      expect(results.every((r) => r.operations.queued === 1 && r.operations.succeeded === 1)).toBe(true);
      expect((await users()).get("ada.lovelace")?.mail).toBe("ada+49@example.test");

      const id = results[0]!.results[0]!.identityId!;
      const identity = await identityRepository.findById(store.db, id);
      expect(identity?.attributes.email).toBe("ada+49@example.test");
      const updates = (await operationRepository.list(store.db, { identityId: id, limit: 500 })).filter(
        (op) => op.kind === "update",
      );
      expect(updates.map((op) => op.attributes?.email)).toEqual(
        Array.from({ length: 50 }, (_, i) => `ada+${i}@example.test`),
      );
      expect(updates.every((op) => op.state === "succeeded")).toBe(true);
      expect(new Set(updates.map((op) => op.idempotencyKey)).size).toBe(50);
      const events = await store.db
        .selectFrom("audit_events")
        .select(["action", "details"])
        .where("subject", "=", id)
        .where("action", "=", "identity.updated")
        .orderBy("seq")
        .execute();
      expect(events.map((e) => JSON.parse(e.details).changes.email.after)).toEqual(
        Array.from({ length: 50 }, (_, i) => `ada+${i}@example.test`),
      );
    });

    it("runs pushes for different people side by side, and one person's pushes one at a time", async () => {
      const real = connectorPool(config);
      const inFlight = new Map<string, number>();
      let most = 0;
      let mostForOne = 0;
      // The real sql connector with 150 ms more per write, to make overlap visible.
      const slow = (connector: Connector): Connector => {
        const wrap =
          <A extends unknown[]>(
            fn: (...args: A) => Promise<import("../../src/connectors/connector-types.js").WriteResult>,
          ) =>
          async (...args: A) => {
            const who = String((args[0] as { username: string }).username);
            inFlight.set(who, (inFlight.get(who) ?? 0) + 1);
            most = Math.max(
              most,
              [...inFlight.values()].reduce((a, b) => a + b, 0),
            );
            mostForOne = Math.max(mostForOne, inFlight.get(who) ?? 0);
            await new Promise((resolve) => setTimeout(resolve, 150));
            try {
              return await fn(...args);
            } finally {
              inFlight.set(who, (inFlight.get(who) ?? 1) - 1);
            }
          };
        return {
          ...connector,
          describe: () => connector.describe(),
          listAccounts: () => connector.listAccounts(),
          listEntitlements: () => connector.listEntitlements(),
          create: wrap((a) => connector.create(a)),
          update: wrap((r, a) => connector.update(r, a)),
          enable: wrap((r) => connector.enable(r)),
          disable: wrap((r) => connector.disable(r)),
          delete: wrap((r) => connector.delete(r)),
          grant: wrap((r, e) => connector.grant(r, e)),
          revoke: wrap((r, e) => connector.revoke(r, e)),
          close: () => connector.close(),
        };
      };
      const wrapped = new Map<string, Connector>();
      const pool: ConnectorPool = {
        get(system) {
          let c = wrapped.get(system);
          if (c === undefined) {
            c = slow(real.get(system));
            wrapped.set(system, c);
          }
          return c;
        },
        closeAll: () => real.closeAll(),
      };
      try {
        await reconcileSystem(store, config.policy, "app", real.get("app"), { now: NOW, actor: "test" });
        const keys = ["E1", "E2", "E3", "E4", "E5"];
        await Promise.all(keys.map((k) => push([person(k)], { connectors: pool })));
        // Different people's writes were at the system at the same time (counted, not timed: a wall-clock
        // bound fails on a loaded machine).
        expect(most).toBeGreaterThanOrEqual(2);
        expect((await users()).size).toBe(5);

        most = 0;
        mostForOne = 0;
        await Promise.all(
          [1, 2, 3].map((i) => push([person("E1", { email: `e1+${i}@example.test` })], { connectors: pool })),
        );
        expect(mostForOne).toBe(1);
        expect((await users()).get("pe1.person")?.mail).toBe("e1+3@example.test");
      } finally {
        await pool.closeAll();
      }
    });

    it("lets a leaver's push in before the joiners waiting at a full push gate, never before the same person's earlier push", async () => {
      await push([person("E8"), person("E9")]);
      const gated = { ...config, server: { ...config.server, pushConcurrency: 1 } };
      const done: string[] = [];
      const pushAs = (name: string, rows: IngestRequest["rows"]) =>
        ingestRecords(store, gated, { source: "hr", rows, actor: "token:hr-feed", now: NOW }).then((r) => {
          done.push(name);
          return r;
        });
      // The one place is taken: everything below waits for it, in call order.
      let release!: () => void;
      const held = new Promise<void>((resolve) => {
        release = resolve;
      });
      const holder = personLock(store).run(["someone else"], () => held, {
        admission: { limit: 1, urgent: false },
      });
      const waiting = [
        pushAs("joiner E2", [person("E2")]),
        pushAs("joiner E3", [person("E3")]),
        pushAs("mover E9", [person("E9", { department: "Engineering" })]),
        pushAs("leaver E8", [{ ...person("E8"), status: "terminated", terminationDate: "2026-03-02" }]),
        // E9's termination comes after its move: it may not overtake it, or the move would end last.
        pushAs("leaver E9", [{ ...person("E9"), status: "terminated", terminationDate: "2026-03-02" }]),
      ];
      release();
      await holder;
      await Promise.all(waiting);
      expect(done).toEqual(["leaver E8", "joiner E2", "joiner E3", "mover E9", "leaver E9"]);
      // Had the termination gone first, the move (status active) would have brought E9 back.
      const e9 = (await identityRepository.listBySource(store.db, "hr")).find((i) => i.sourceKey === "E9");
      expect(e9?.state).toBe("terminated");
      const u = await users();
      expect([u.get("pe8.person")?.active, u.get("pe9.person")?.active, u.get("pe3.person")?.active]).toEqual(
        [0, 0, 1],
      );
    });
  },
);
