import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Account, DesiredAccess, Policy, SystemDef } from "./access-types.js";
import {
  type DormantCandidate,
  type DormantRecord,
  dormantDisableOperation,
  dormantStep,
  earliestUse,
  idleSince,
} from "./dormant.js";
import { type DormantHold, holdDormant } from "./dormant-hold.js";
import { planIdentity } from "./plan.js";

const DAY = 86_400_000;
const now = new Date("2026-12-04T12:00:00.000Z");
const daysAgo = (n: number) => new Date(now.getTime() - n * DAY).toISOString();
const policy = { afterDays: 90, noticeDays: 14 };

function candidate(overrides: Partial<DormantCandidate> = {}): DormantCandidate {
  return {
    accountId: "acc-1",
    system: "dir",
    username: "ada",
    nativeId: "uuid-ada",
    identityId: "id-1",
    enabled: true,
    gone: false,
    lastUsedAt: daysAgo(100),
    firstSeenAt: daysAgo(400),
    holderLeft: false,
    ...overrides,
  };
}

function record(overrides: Partial<DormantRecord> = {}): DormantRecord {
  return {
    accountId: "acc-1",
    system: "dir",
    identityId: "id-1",
    lastUsedAt: daysAgo(100),
    noticedAt: daysAgo(10),
    disableAt: daysAgo(-4),
    disabledAt: null,
    clearedAt: null,
    ...overrides,
  };
}

describe("idleSince", () => {
  it("is the last use when known", () => {
    expect(idleSince({ lastUsedAt: daysAgo(5), firstSeenAt: daysAgo(50) }, daysAgo(300), null)).toBe(
      daysAgo(5),
    );
  });
  it("for a never-used account: the later of first seen and the system's earliest reported use", () => {
    expect(idleSince({ lastUsedAt: null, firstSeenAt: daysAgo(50) }, daysAgo(300), null)).toBe(daysAgo(50));
    // The directory began recording last use 20 days ago: it cannot say more than 20 days.
    expect(idleSince({ lastUsedAt: null, firstSeenAt: daysAgo(500) }, daysAgo(20), null)).toBe(daysAgo(20));
    expect(idleSince({ lastUsedAt: null, firstSeenAt: null }, daysAgo(20), null)).toBe(daysAgo(20));
  });
  it("is unknown when the system reports no use at all, or the value is not a time", () => {
    expect(idleSince({ lastUsedAt: null, firstSeenAt: daysAgo(500) }, null, null)).toBeNull();
    expect(
      idleSince({ lastUsedAt: "last tuesday", firstSeenAt: daysAgo(500) }, daysAgo(600), null),
    ).toBeNull();
  });
  it("restarts from a clearing (a released account gets afterDays again)", () => {
    expect(idleSince({ lastUsedAt: daysAgo(300), firstSeenAt: null }, daysAgo(300), daysAgo(3))).toBe(
      daysAgo(3),
    );
  });
});

describe("earliestUse", () => {
  it("is the earliest time that parses, or null", () => {
    expect(earliestUse([null, "x", daysAgo(3), daysAgo(30)])).toBe(daysAgo(30));
    expect(earliestUse([null, null])).toBeNull();
  });
});

describe("dormantStep", () => {
  const step = (c: DormantCandidate, r?: DormantRecord, earliest: string | null = daysAgo(365)) =>
    dormantStep(c, r, policy, earliest, now);

  it("notices an enabled account unused past afterDays, disabling it noticeDays later", () => {
    expect(step(candidate())).toEqual({ kind: "notice", idleSince: daysAgo(100), disableAt: daysAgo(-14) });
    expect(step(candidate({ lastUsedAt: daysAgo(89) }))).toEqual({ kind: "none" });
    expect(step(candidate({ enabled: false }))).toEqual({ kind: "none" });
    expect(step(candidate({ gone: true }))).toEqual({ kind: "none" });
    expect(step(candidate({ holderLeft: true }))).toEqual({ kind: "none" });
  });
  it("never notices an account whose last use is unknown in a system that reports none", () => {
    expect(step(candidate({ lastUsedAt: null }), undefined, null)).toEqual({ kind: "none" });
    expect(step(candidate({ lastUsedAt: null }), undefined, daysAgo(100)).kind).toBe("notice");
  });
  it("disables at disable_at if still unused; clears when used again, gone or the holder left", () => {
    expect(step(candidate(), record())).toEqual({ kind: "none" });
    expect(step(candidate(), record({ disableAt: daysAgo(0) }))).toEqual({ kind: "disable" });
    expect(step(candidate({ lastUsedAt: daysAgo(1) }), record({ disableAt: daysAgo(1) }))).toEqual({
      kind: "clear",
      reason: "used",
    });
    expect(step(candidate({ lastUsedAt: daysAgo(2) }), record({ lastUsedAt: null }))).toEqual({
      kind: "clear",
      reason: "used",
    });
    expect(step(candidate({ gone: true }), record())).toEqual({ kind: "clear", reason: "gone" });
    expect(step(candidate({ holderLeft: true }), record())).toEqual({ kind: "clear", reason: "holder-left" });
  });
  it("keeps a hold; disables again a held account found enabled", () => {
    const held = record({ disableAt: daysAgo(5), disabledAt: daysAgo(5) });
    expect(step(candidate({ enabled: false }), held)).toEqual({ kind: "none" });
    expect(step(candidate({ enabled: true }), held)).toEqual({ kind: "hold" });
  });
  it("notices again after a clearing only once afterDays have passed since it", () => {
    const cleared = record({ clearedAt: daysAgo(10) });
    expect(step(candidate(), cleared)).toEqual({ kind: "none" });
    expect(step(candidate(), record({ clearedAt: daysAgo(95) })).kind).toBe("notice");
  });
  it("never disables an account that was used within afterDays or never noticed (property)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 89 }),
        fc.boolean(),
        fc.option(fc.integer({ min: 0, max: 400 })),
        (usedDaysAgo, enabled, earliest) => {
          const c = candidate({ lastUsedAt: daysAgo(usedDaysAgo), enabled });
          const s = step(c, undefined, earliest === null ? null : daysAgo(earliest));
          expect(s.kind).toBe("none");
        },
      ),
    );
  });
});

describe("the plan and a dormant hold", () => {
  const at = { file: "tenure.yaml", line: 1, column: 1 };
  const dir: SystemDef = {
    name: "dir",
    connector: "ldap",
    connectorConfig: {},
    owner: null,
    drift: "report",
    orphans: "report",
    account: { username: "{givenName}", collision: "suffix", attributes: {} },
    correlation: { account: "username", identity: "username" },
    retry: { maxAttempts: 3, baseDelaySeconds: 1, maxDelaySeconds: 60 },
    location: at,
  };
  const plan: Policy = { systems: { dir }, entitlements: {}, roles: {} };
  const desired = (): DesiredAccess => ({
    identityId: "id-1",
    systems: {
      dir: {
        system: "dir",
        presence: "enabled",
        presenceLineage: [{ kind: "role", role: "staff", chain: ["staff"], rule: null }],
        username: "ada",
        attributes: {},
        entitlements: {},
        withheld: {},
      },
    },
  });
  const account = (enabled: boolean): Account => ({
    system: "dir",
    nativeId: "uuid-ada",
    username: "ada",
    identityId: "id-1",
    enabled,
    attributes: {},
    entitlements: [],
    managedEntitlements: [],
    managed: true,
    lastSeenAt: null,
    lastUsedAt: daysAgo(120),
  });
  const hold: DormantHold = {
    identityId: "id-1",
    system: "dir",
    lastUsedAt: daysAgo(120),
    disabledAt: daysAgo(2),
  };

  it("without a hold, enables the disabled account again", () => {
    expect(planIdentity(desired(), [account(false)], plan).map((o) => o.kind)).toEqual(["enable"]);
  });
  it("with a hold, leaves it disabled, and disables it again with the same key the check queues", () => {
    const held = desired();
    holdDormant(held, [hold, { ...hold, identityId: "id-2" }]);
    expect(held.systems.dir?.presence).toBe("disabled");
    expect(held.systems.dir?.presenceLineage[0]).toMatchObject({
      kind: "lifecycle",
      policy: "reviews.dormant.dir",
    });
    expect(planIdentity(held, [account(false)], plan)).toEqual([]);
    const [disable] = planIdentity(held, [account(true)], plan);
    expect(disable?.kind).toBe("disable");
    expect(disable?.reason).toMatch(/unused since .*reviews\.dormant\.dir/);
    const queued = dormantDisableOperation(candidate(), hold, policy);
    expect(queued.idempotencyKey).toBe(disable?.idempotencyKey);
  });
  it("another identity's hold, or one for a system it is not enabled in, changes nothing", () => {
    const other = desired();
    holdDormant(other, [
      { ...hold, identityId: "id-2" },
      { ...hold, system: "wiki" },
    ]);
    expect(other).toEqual(desired());
  });
});
