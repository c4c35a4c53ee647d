import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type NhiAccountFacts,
  type NhiAccountHold,
  type NhiAccountRecord,
  type NhiSystemFacts,
  nhiAccountRef,
  nhiAccountStep,
} from "./nhi-account.js";
import { idempotencyKey } from "./plan.js";

const now = new Date("2026-12-05T12:00:00.000Z");
const DISABLED_AT = "2026-12-05T09:00:00.000Z";

const pg: NhiSystemFacts = { orphans: "report", connector: "postgres", disableRefusesUse: true };

function nhi(overrides: Partial<NhiAccountFacts["nhi"]> = {}): NhiAccountFacts["nhi"] {
  return {
    id: "nhi-1",
    name: "svc_billing",
    system: "appdb",
    account: null,
    disabledAt: DISABLED_AT,
    disabledReason: "ownership was not confirmed by 2026-12-04",
    removedAt: null,
    ...overrides,
  };
}

function account(overrides: Partial<NhiAccountRecord> = {}): NhiAccountRecord {
  return { nativeId: "svc_billing", identityId: null, enabled: true, gone: false, ...overrides };
}

function hold(overrides: Partial<NhiAccountHold> = {}): NhiAccountHold {
  return {
    nhiId: "nhi-1",
    system: "appdb",
    username: "svc_billing",
    state: "held",
    why: null,
    wasEnabled: true,
    heldAt: DISABLED_AT,
    reason: "ownership was not confirmed by 2026-12-04",
    ...overrides,
  };
}

function step(facts: Partial<NhiAccountFacts>) {
  return nhiAccountStep({ nhi: nhi(), system: pg, account: account(), hold: null, ...facts }, now);
}

describe("nhiAccountRef", () => {
  it("is the discovered account in the NHI's system, else the account named like the NHI", () => {
    expect(nhiAccountRef({ name: "svc_x@db", system: "db", account: "svc_x" })).toEqual({
      system: "db",
      username: "svc_x",
    });
    expect(nhiAccountRef({ name: "billing", system: "db", account: null })).toEqual({
      system: "db",
      username: "billing",
    });
    expect(nhiAccountRef({ name: "billing", system: null, account: null })).toBeNull();
  });
});

describe("nhiAccountStep: an NHI disabled", () => {
  it("holds its enabled account and disables it, with the NHI's reason as lineage, filed under the NHI", () => {
    const s = step({});
    expect(s.kind).toBe("disable");
    if (s.kind !== "disable") return;
    expect(s.hold).toMatchObject({
      state: "held",
      wasEnabled: true,
      system: "appdb",
      username: "svc_billing",
    });
    expect(s.caveat).toBeNull();
    expect(s.operation).toMatchObject({
      system: "appdb",
      kind: "disable",
      identityId: "nhi-1",
      username: "svc_billing",
      nativeId: "svc_billing",
      drift: false,
    });
    expect(s.operation.lineage).toEqual([
      {
        kind: "lifecycle",
        policy: "nhi.policy.onOwnerLeave",
        note: "NHI svc_billing disabled on 2026-12-05: ownership was not confirmed by 2026-12-04",
      },
    ]);
    expect(s.operation.reason).toMatch(/^Disable the account of NHI svc_billing in appdb: ownership was not/);
    // The plan's key for a disable of this account: the two never queue it twice.
    expect(s.operation.idempotencyKey).toBe(idempotencyKey({ ...s.operation }));
  });

  it("queues the disable of an account Tenure has no record of: the connector is the authority", () => {
    const s = step({ account: null });
    expect(s).toMatchObject({ kind: "disable", hold: { wasEnabled: null }, operation: { nativeId: null } });
  });

  it("holds an account disabled already without queueing anything", () => {
    expect(step({ account: account({ enabled: false }) })).toMatchObject({
      kind: "held",
      hold: { state: "held", wasEnabled: false },
    });
  });

  it("says so where the connector's disable only marks the account, but a manual system's is a person's task", () => {
    const sql = step({ system: { orphans: "report", connector: "sql", disableRefusesUse: false } });
    expect(sql).toMatchObject({ kind: "disable", caveat: expect.stringMatching(/may still work/) });
    const manual = step({ system: { orphans: "report", connector: "manual", disableRefusesUse: false } });
    expect(manual).toMatchObject({ kind: "disable", caveat: null });
  });

  it("records as unenforced, with why, what Tenure cannot switch off", () => {
    expect(step({ nhi: nhi({ system: null }) })).toMatchObject({
      kind: "unenforced",
      hold: { state: "unenforced", system: null, why: expect.stringMatching(/names no system/) },
    });
    expect(step({ system: null })).toMatchObject({
      kind: "unenforced",
      hold: { why: expect.stringMatching(/appdb is not a configured system/) },
    });
    expect(step({ account: account({ identityId: "someone-else" }) })).toMatchObject({
      kind: "unenforced",
      hold: { why: expect.stringMatching(/belongs to another identity \(someone-else\)/) },
    });
    expect(step({ account: account({ gone: true }) })).toMatchObject({
      kind: "unenforced",
      hold: { why: expect.stringMatching(/no longer found/) },
    });
  });

  it("disables an account correlated to the NHI's own identity", () => {
    expect(step({ account: account({ identityId: "nhi-1" }) }).kind).toBe("disable");
  });

  it("disables again an account found enabled while held, and nothing while it stays disabled", () => {
    expect(step({ hold: hold(), account: account({ enabled: true }) })).toMatchObject({
      kind: "redisable",
      operation: { kind: "disable", identityId: "nhi-1" },
    });
    expect(step({ hold: hold(), account: account({ enabled: false }) })).toEqual({ kind: "none" });
    expect(step({ hold: hold({ state: "unenforced" }), account: account() })).toEqual({ kind: "none" });
  });
});

describe("nhiAccountStep: an NHI enabled again", () => {
  const enabled = nhi({ disabledAt: null, disabledReason: null });

  it("enables the account Tenure disabled, and releases the hold", () => {
    const s = step({ nhi: enabled, hold: hold(), account: account({ enabled: false }) });
    expect(s).toMatchObject({
      kind: "enable",
      operation: { kind: "enable", system: "appdb", username: "svc_billing", identityId: "nhi-1" },
    });
  });

  it("only releases where enabling is not Tenure's to do", () => {
    const why = (facts: Partial<NhiAccountFacts>) => {
      const s = step({ nhi: enabled, hold: hold(), account: account({ enabled: false }), ...facts });
      return s.kind === "release" ? s.why : s.kind;
    };
    expect(why({ hold: hold({ wasEnabled: false }) })).toMatch(/disabled before/);
    expect(why({ hold: hold({ state: "unenforced" }) })).toMatch(/had not disabled it/);
    expect(why({ account: account({ enabled: false, identityId: "nhi-1" }) })).toMatch(/plan decides/);
    expect(why({ system: { ...pg, orphans: "disable" } })).toMatch(/orphans: disable/);
    expect(why({ system: null })).toMatch(/no longer a configured system/);
    expect(why({ account: account({ enabled: false, gone: true }) })).toMatch(/no longer found/);
    expect(why({ account: account({ enabled: true }) })).toMatch(/enabled already/);
    expect(why({ nhi: { ...enabled, account: "other" } })).toMatch(/another account/);
  });

  it("leaves a removed NHI's hold alone, and does nothing without a hold", () => {
    expect(step({ nhi: { ...enabled, removedAt: DISABLED_AT }, hold: hold() })).toEqual({ kind: "none" });
    expect(step({ nhi: enabled })).toEqual({ kind: "none" });
  });
});

describe("nhiAccountStep: properties", () => {
  const facts = fc.record({
    disabled: fc.boolean(),
    removed: fc.boolean(),
    system: fc.constantFrom<NhiSystemFacts | null>(
      null,
      pg,
      { ...pg, orphans: "disable" },
      { orphans: "report", connector: "sql", disableRefusesUse: false },
    ),
    namesSystem: fc.boolean(),
    account: fc.option(
      fc.record({
        nativeId: fc.constant("n"),
        identityId: fc.constantFrom(null, "nhi-1", "other"),
        enabled: fc.boolean(),
        gone: fc.boolean(),
      }),
    ),
    hold: fc.option(
      fc.record({
        state: fc.constantFrom<"held" | "unenforced">("held", "unenforced"),
        wasEnabled: fc.constantFrom(null, true, false),
      }),
    ),
  });
  type Facts = typeof facts extends fc.Arbitrary<infer T> ? T : never;
  const toFacts = (f: Facts): NhiAccountFacts => ({
    nhi: nhi({
      disabledAt: f.disabled ? DISABLED_AT : null,
      removedAt: f.removed ? DISABLED_AT : null,
      system: f.namesSystem ? "appdb" : null,
    }),
    system: f.system,
    account: f.account,
    hold: f.hold === null ? null : hold(f.hold),
  });

  it("never enables the account of a disabled NHI, nor disables that of an enabled one", () => {
    fc.assert(
      fc.property(facts, (f) => {
        const s = nhiAccountStep(toFacts(f), now);
        if (f.disabled) expect(s.kind).not.toBe("enable");
        else expect(["disable", "redisable", "held", "unenforced"]).not.toContain(s.kind);
      }),
    );
  });

  it("never touches an account that belongs to another identity", () => {
    fc.assert(
      fc.property(facts, (f) => {
        fc.pre(f.account?.identityId === "other");
        const s = nhiAccountStep(toFacts(f), now);
        expect(["disable", "redisable", "enable"]).not.toContain(s.kind);
      }),
    );
  });

  it("enables only an account Tenure held after finding it enabled (or unknown)", () => {
    fc.assert(
      fc.property(facts, (f) => {
        const s = nhiAccountStep(toFacts(f), now);
        if (s.kind !== "enable") return;
        expect(f.hold).not.toBeNull();
        expect(f.hold?.state).toBe("held");
        expect(f.hold?.wasEnabled).not.toBe(false);
        expect(f.removed).toBe(false);
      }),
    );
  });
});
