/**
 * The dormant-account check over a real store (SQLite and PostgreSQL): notices to the holder's manager
 * (else the system's owner), each once; clearing on use; disabling through the engine at disable_at,
 * held so the plan does not enable it again until released; systems that never report last use left
 * alone; mass-change protection; a removed policy ends its holds.
 */
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { storeFactories, type TestStore } from "../../test/helpers/databases.js";
import { tempDir } from "../../test/helpers/workspace.js";
import { queryEvents } from "../audit/ledger.js";
import type { Account } from "../domain/access-types.js";
import type { Identity } from "../domain/identity-types.js";
import { computeProvisionPlan } from "../engine/provision.js";
import { loadConfig } from "../policy/config-loader.js";
import type { TenureConfig } from "../policy/config-types.js";
import { accountRepository } from "../store/account-repository.js";
import { dormantRepository } from "../store/dormant-repository.js";
import { identityRepository } from "../store/identity-repository.js";
import { notificationRepository } from "../store/notification-repository.js";
import { operationRepository } from "../store/operation-repository.js";
import { firstSeenOf, releaseDormant, runDormantCheck } from "./dormant-accounts.js";

const YAML = `
sources:
  hr: { type: push, key: employeeId, timeZone: UTC }
systems:
  dir:
    connector: manual
    owner: it-ops@example.test
    account: { username: "{employeeId}" }
    config: { fulfiller: dir-ops@example.test }
  wiki:
    connector: manual
    account: { username: "{employeeId}" }
    config: { fulfiller: wiki-ops@example.test }
  quiet:
    connector: manual
    account: { username: "{employeeId}" }
    config: { fulfiller: quiet-ops@example.test }
roles:
  staff:
    when: "employmentType == 'employee'"
    grants: [{ system: dir }, { system: wiki }]
reviews:
  dormant:
    dir: { afterDays: 90, noticeDays: 14 }
    quiet: { afterDays: 30 }
notify:
  email: { smtp: "smtp://127.0.0.1:2525", from: "Tenure <tenure@example.test>" }
`;

const DAY = 86_400_000;
// Account rows get their first-seen time from their UUIDv7 id, made at the real clock: the test's
// clock starts there.
const T0 = new Date(Math.ceil(Date.now() / 1000) * 1000 + 1000);
const at = (days: number) => new Date(T0.getTime() + days * DAY);
const ago = (days: number) => at(-days).toISOString();

function person(key: string, managerId: string | null = null): Identity {
  return {
    id: `id-${key}`,
    kind: "human",
    source: "hr",
    sourceKey: key,
    state: "active",
    attributes: {
      employeeId: key,
      givenName: key,
      familyName: "Test",
      displayName: `${key} Test`,
      email: `${key}@example.test`,
      department: null,
      title: null,
      location: null,
      costCenter: null,
      managerId,
      employmentType: "employee",
      status: "active",
      startDate: "2020-01-01",
      endDate: null,
      terminationDate: null,
    },
    employment: 1,
    stateSince: "2020-01-01T00:00:00.000Z",
    createdAt: "2020-01-01T00:00:00.000Z",
    updatedAt: "2020-01-01T00:00:00.000Z",
    lastRecordId: null,
    previousAttributes: null,
    attributesChangedAt: null,
  };
}

function account(system: string, username: string, lastUsedAt: string | null, enabled = true): Account {
  return {
    system,
    nativeId: `${system}-${username}`,
    username,
    identityId: username === "svc" ? null : `id-${username}`,
    enabled,
    attributes: {},
    entitlements: [],
    managedEntitlements: [],
    managed: username !== "svc",
    lastSeenAt: T0.toISOString(),
    lastUsedAt,
  };
}

describe.each(await storeFactories())("dormant accounts on %s", (_kind, makeStore) => {
  let store: TestStore;
  let config: TenureConfig;
  let removeDir: () => Promise<void>;

  beforeAll(async () => {
    const dir = await tempDir("tenure-dormant-");
    removeDir = dir.dispose;
    await writeFile(path.join(dir.dir, "tenure.yaml"), YAML);
    config = await loadConfig(path.join(dir.dir, "tenure.yaml"), { env: {} });
    store = await makeStore();
    await identityRepository.upsertMany(store.db, [
      person("boss"),
      person("ada", "boss"),
      person("bob", "boss"),
      person("cat", "boss"),
      person("dan"),
      person("eve"),
    ]);
    await accountRepository.upsertMany(
      store.db,
      [
        account("dir", "ada", ago(100)),
        account("dir", "bob", ago(10)),
        // Never used: counted from when Tenure first saw it (now), so not dormant.
        account("dir", "cat", null),
        account("dir", "dan", ago(300), false),
        account("dir", "eve", ago(120)),
        account("dir", "svc", ago(200)),
        account("wiki", "ada", ago(300)),
        // A system that reports no last use: nothing is known, nothing is done.
        account("quiet", "ada", null),
        account("quiet", "bob", null),
      ],
      T0.toISOString(),
    );
  });
  afterAll(async () => {
    await store.dispose();
    await removeDir();
  });

  const check = (days: number, c: TenureConfig = config) =>
    runDormantCheck({ db: store.db, config: c, now: at(days), actor: "test" });
  const names = (list: ReadonlyArray<{ system: string; username: string }>) =>
    list.map((x) => `${x.system}/${x.username}`).sort();
  const outbox = async () =>
    (await notificationRepository.list(store.db)).filter((n) => n.event === "dormant.notice");
  const eveOps = async (days: number) =>
    (await computeProvisionPlan(store, config, { now: at(days) })).operations
      .filter((op) => op.identityId === "id-eve" && op.system === "dir")
      .map((op) => op.kind);

  it("dates first sight from the account row's id", async () => {
    const [row] = await dormantRepository.accounts(store.db, "dir");
    const seen = Date.parse(firstSeenOf(row!.accountId)!);
    expect(Math.abs(seen - Date.now())).toBeLessThan(60_000);
    expect(firstSeenOf("not-a-uuid")).toBeNull();
  });

  it("notices accounts unused past afterDays, telling the manager or the system owner, once", async () => {
    const first = await check(0);
    expect(names(first.noticed)).toEqual(["dir/ada", "dir/eve", "dir/svc"]);
    expect(first.noticed.find((n) => n.username === "ada")).toMatchObject({
      to: "boss@example.test",
      idleSince: ago(100),
      disableAt: at(14).toISOString(),
    });
    // eve has no manager, svc no holder: the system's owner is told.
    expect(first.noticed.find((n) => n.username === "eve")?.to).toBe("it-ops@example.test");
    expect(first.noticed.find((n) => n.username === "svc")?.to).toBe("it-ops@example.test");
    expect(first.disabled).toEqual([]);

    const mail = await outbox();
    expect(mail.map((m) => m.recipient).sort()).toEqual([
      "boss@example.test",
      "it-ops@example.test",
      "it-ops@example.test",
    ]);
    expect(mail.find((m) => m.recipient === "boss@example.test")?.subject).toBe(
      `Dormant account ada in dir will be disabled on ${at(14).toISOString()}`,
    );

    const again = await check(1);
    expect([again.noticed, again.disabled, again.cleared]).toEqual([[], [], []]);
    expect(await outbox()).toHaveLength(3);
    const events = await queryEvents(store.db, { action: "account.dormant_noticed" });
    expect(events.map((e) => e.subject).sort()).toEqual(["account:dir/svc", "id-ada", "id-eve"]);
  });

  it("clears a notice when the account is used again before disable_at", async () => {
    const [ada] = await accountRepository.findMany(store.db, [{ system: "dir", username: "ada" }]);
    await accountRepository.upsertMany(
      store.db,
      [{ ...ada!, lastUsedAt: at(2).toISOString() }],
      at(2).toISOString(),
    );
    const result = await check(3);
    expect(result.cleared.map((c) => [c.username, c.reason])).toEqual([["ada", "used"]]);
  });

  it("disables at disable_at through the engine, and the plan holds the account disabled", async () => {
    expect(await eveOps(10)).toEqual([]);
    const result = await check(14);
    expect(names(result.disabled)).toEqual(["dir/eve", "dir/svc"]);
    expect(result.queued).toBe(2);
    const ops = (await operationRepository.list(store.db, {})).filter((op) => op.kind === "disable");
    expect(ops.map((op) => [op.username, op.identityId]).sort()).toEqual([
      ["eve", "id-eve"],
      ["svc", null],
    ]);
    expect(ops.find((op) => op.username === "eve")?.reason).toBe(
      "Disable the account in dir: unused since " +
        `${ago(120).slice(0, 10)}, more than 90 days (reviews.dormant.dir).`,
    );
    const audit = await queryEvents(store.db, { action: "account.dormant_disabled" });
    expect(audit).toHaveLength(2);

    // The plan agrees while the operation is queued (the same key: nothing queued twice) …
    const planned = (await computeProvisionPlan(store, config, { now: at(14) })).operations.find(
      (op) => op.identityId === "id-eve" && op.system === "dir",
    );
    expect(planned?.idempotencyKey).toBe(ops.find((op) => op.username === "eve")?.idempotencyKey);
    // … and once it is done, the plan leaves the account disabled instead of enabling it.
    const [eve] = await accountRepository.findMany(store.db, [{ system: "dir", username: "eve" }]);
    await accountRepository.upsertMany(store.db, [{ ...eve!, enabled: false }], at(14).toISOString());
    expect(await eveOps(15)).toEqual([]);
    expect((await check(15)).queued).toBe(0);

    // Re-enabled outside Tenure: the check disables it again.
    await accountRepository.upsertMany(store.db, [{ ...eve!, enabled: true }], at(16).toISOString());
    const hold = await check(16);
    expect(hold.queued).toBe(0); // the first disable is still queued (its key is open)
    await accountRepository.upsertMany(store.db, [{ ...eve!, enabled: false }], at(16).toISOString());

    const listed = await dormantRepository.list(store.db);
    expect(listed.filter((r) => r.disabledAt !== null).map((r) => [r.username, r.holder])).toEqual([
      ["eve", "eve@example.test"],
      ["svc", null],
    ]);
  });

  it("lets an administrator release a hold: the plan enables the account, and the count starts again", async () => {
    await releaseDormant({ db: store.db, now: at(20), actor: "test" }, "dir", "eve");
    expect(await eveOps(20)).toEqual(["enable"]);
    await expect(releaseDormant({ db: store.db, now: at(20), actor: "test" }, "dir", "eve")).rejects.toThrow(
      /no dormant notice or hold/,
    );
    const [eve] = await accountRepository.findMany(store.db, [{ system: "dir", username: "eve" }]);
    await accountRepository.upsertMany(store.db, [{ ...eve!, enabled: true }], at(21).toISOString());
    expect((await check(21)).noticed).toEqual([]);
    expect(names((await check(111)).noticed)).toContain("dir/eve");
  });

  it("stops disables past lifecycle.massChangeThreshold, and a removed policy ends every notice and hold", async () => {
    const strict: TenureConfig = {
      ...config,
      lifecycle: { ...config.lifecycle, massChangeThreshold: { percent: 10, minimum: 0 } },
    };
    const stopped = await check(200, strict);
    expect(stopped.massChange.map((m) => m.system)).toEqual(["dir"]);
    expect(stopped.disabled).toEqual([]);

    const none: TenureConfig = {
      ...config,
      reviews: { ...config.reviews!, dormant: {} },
    };
    const ended = await check(201, none);
    expect(ended.cleared.every((c) => c.reason === "policy-removed")).toBe(true);
    expect(names(ended.cleared)).toContain("dir/svc");
    expect(await dormantRepository.list(store.db)).toEqual([]);
  });
});
