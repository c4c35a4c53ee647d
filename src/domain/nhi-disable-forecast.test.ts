import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { WorkerAttributes } from "./identity-types.js";
import { stateFromAttributes } from "./lifecycle.js";
import { localDate } from "./local-date.js";
import {
  type ForecastNhi,
  type ForecastPerson,
  forecastNhiDisables,
  leavingInstant,
  type NhiDisableForecastInput,
} from "./nhi-disable-forecast.js";
import type { OwnerLeavePolicy } from "./nhi-types.js";

const DAY = 86_400_000;
const NOW = new Date("2026-12-01T09:00:00Z");
const day = (n: number) => new Date(NOW.getTime() + n * DAY);
const POLICY: OwnerLeavePolicy = {
  passTo: "manager",
  fallback: null,
  confirmWithinMs: 7 * DAY,
  onMove: false,
  otherwise: "disable",
};

function nhi(
  name: string,
  over: Partial<ForecastNhi["nhi"]> = {},
  more: Partial<ForecastNhi> = {},
): ForecastNhi {
  return {
    nhi: {
      id: `nhi-${name}`,
      name,
      system: "warehouse",
      account: null,
      ownerId: null,
      pendingOwnerId: null,
      pendingDeadline: null,
      disabledAt: null,
      disabledReason: null,
      removedAt: null,
      ...over,
    },
    system: { orphans: "report", connector: "postgres", disableRefusesUse: true },
    account: { nativeId: name, identityId: null, enabled: true, gone: false },
    hold: null,
    ...more,
  };
}

const person = (key: string, leavesIn: number | null, successorId: string | null = null): ForecastPerson => ({
  key,
  leavesAt: leavesIn === null ? null : day(leavesIn).toISOString(),
  successorId,
});

describe("forecastNhiDisables", () => {
  const people = new Map([
    ["e1", person("E1", null)],
    ["e2", person("E2", 3, "e1")],
    ["e3", person("E3", 2)],
  ]);
  const input = (nhis: ForecastNhi[], policy = POLICY): NhiDisableForecastInput => ({
    nhis,
    people,
    policy,
    now: NOW,
  });

  it("disables at the deadline an NHI whose owner leaves and whose successor does not confirm", () => {
    const nhis = [nhi("billing", { ownerId: "e2" }), nhi("stays", { ownerId: "e1" })];
    expect(forecastNhiDisables(input(nhis), day(9))).toEqual([]);
    const [one, ...rest] = forecastNhiDisables(input(nhis), day(10));
    expect(rest).toEqual([]);
    expect(one).toEqual({
      nhiId: "nhi-billing",
      name: "billing",
      at: day(10).toISOString(),
      why: `the owner E2 leaves on 2026-12-04: ownership passes to E1; E1 does not confirm ownership by ${day(10).toISOString()}`,
      system: "warehouse",
      account: "billing",
      accountAction: "disable",
      accountNote: null,
    });
  });

  it("disables when the owner leaves with nobody to pass to, and says what becomes of the account", () => {
    const nhis = [
      nhi("nosys", { ownerId: "e3", system: null }),
      nhi(
        "off",
        { ownerId: "e3" },
        { account: { nativeId: "off", identityId: null, enabled: false, gone: false } },
      ),
    ];
    const out = forecastNhiDisables(input(nhis), day(2));
    expect(out.map((o) => [o.name, o.at, o.accountAction])).toEqual([
      ["nosys", day(2).toISOString(), "unenforced"],
      ["off", day(2).toISOString(), "disabled-already"],
    ]);
    expect(out[0]!.why).toBe("the owner E3 left on 2026-12-03 and there is nobody to pass ownership to");
    expect(out[0]!.accountNote).toContain("names no system");
    expect(forecastNhiDisables(input(nhis, { ...POLICY, otherwise: "keep" }), day(30))).toEqual([]);
  });

  it("lists a disabled NHI only while its account is not held, and never a removed one", () => {
    const disabled = { disabledAt: day(-1).toISOString(), disabledReason: "not confirmed" };
    const hold = {
      nhiId: "nhi-held",
      system: "warehouse",
      username: "held",
      state: "held" as const,
      why: null,
      wasEnabled: true,
      heldAt: day(-1).toISOString(),
      reason: "not confirmed",
    };
    const nhis = [
      nhi("unheld", disabled),
      nhi("held", disabled, { hold }),
      nhi("removed", { ownerId: "e3", removedAt: day(-1).toISOString() }),
    ];
    expect(forecastNhiDisables(input(nhis), day(5)).map((o) => [o.name, o.at])).toEqual([
      ["unheld", NOW.toISOString()],
    ]);
  });

  it("follows a pending owner who leaves before the deadline to their successor", () => {
    const chain = new Map([
      ["e1", person("E1", null)],
      ["e2", person("E2", 3, "e1")],
    ]);
    const pending = nhi("p", { ownerId: "e9", pendingOwnerId: "e2", pendingDeadline: day(5).toISOString() });
    const [out] = forecastNhiDisables({ nhis: [pending], people: chain, policy: POLICY, now: NOW }, day(10));
    expect(out).toMatchObject({ at: day(10).toISOString() });
    expect(out!.why).toContain("the pending owner E2 leaves on 2026-12-04: ownership passes to E1");
  });
});

/** A small organisation of people p0…p5 (who leaves when, to whom ownership passes) and NHIs owned by them. */
const ids = ["p0", "p1", "p2", "p3", "p4", "p5"];
const arbPerson = fc.record({
  leavesIn: fc.option(fc.integer({ min: -5, max: 40 }), { nil: null }),
  successor: fc.option(fc.constantFrom(...ids), { nil: null }),
});
const arbNhi = fc.record({
  owner: fc.option(fc.constantFrom(...ids, "ghost"), { nil: null }),
  pending: fc.option(
    fc.record({ who: fc.constantFrom(...ids, "ghost"), deadlineIn: fc.integer({ min: -3, max: 30 }) }),
    { nil: null },
  ),
  disabled: fc.boolean(),
  held: fc.boolean(),
  system: fc.boolean(),
});
const arbInput = fc
  .record({
    people: fc.array(arbPerson, { minLength: ids.length, maxLength: ids.length }),
    nhis: fc.array(arbNhi, { maxLength: 8 }),
    confirmDays: fc.integer({ min: 0, max: 20 }),
    otherwise: fc.constantFrom("disable" as const, "keep" as const),
  })
  .map(
    ({ people, nhis, confirmDays, otherwise }): NhiDisableForecastInput => ({
      now: NOW,
      policy: { ...POLICY, confirmWithinMs: confirmDays * DAY, otherwise },
      people: new Map(
        people.map((p, i) => [
          ids[i]!,
          {
            key: ids[i]!.toUpperCase(),
            leavesAt: p.leavesIn === null ? null : day(p.leavesIn).toISOString(),
            successorId: p.successor,
          },
        ]),
      ),
      nhis: nhis.map((n, i) =>
        nhi(
          `n${i}`,
          {
            ownerId: n.owner,
            pendingOwnerId: n.pending?.who ?? null,
            pendingDeadline: n.pending === null ? null : day(n.pending.deadlineIn).toISOString(),
            disabledAt: n.disabled ? day(-1).toISOString() : null,
            disabledReason: n.disabled ? "earlier" : null,
            system: n.system ? "warehouse" : null,
          },
          n.disabled && n.held
            ? {
                hold: {
                  nhiId: `nhi-n${i}`,
                  system: null,
                  username: null,
                  state: "unenforced",
                  why: "x",
                  wasEnabled: null,
                  heldAt: day(-1).toISOString(),
                  reason: "earlier",
                },
              }
            : {},
        ),
      ),
    }),
  );

describe("forecastNhiDisables, properties", () => {
  it("is monotone in T: disabled by T means disabled by any later T', at the same instant", () => {
    fc.assert(
      fc.property(
        arbInput,
        fc.integer({ min: 0, max: 60 }),
        fc.integer({ min: 0, max: 60 }),
        (input, a, b) => {
          const [t1, t2] = a <= b ? [day(a), day(b)] : [day(b), day(a)];
          const later = new Map(forecastNhiDisables(input, t2).map((f) => [f.nhiId, f.at]));
          for (const f of forecastNhiDisables(input, t1)) expect(later.get(f.nhiId)).toBe(f.at);
        },
      ),
    );
  });

  it("disables nothing whose owner stays and nothing is pending, nor anything with otherwise: keep", () => {
    fc.assert(
      fc.property(arbInput, fc.integer({ min: 0, max: 60 }), (input, d) => {
        const by = day(d);
        const out = forecastNhiDisables(input, by);
        for (const f of out) {
          const n = input.nhis.find((x) => x.nhi.id === f.nhiId)!.nhi;
          // What was disabled before the preview is its own case: listed until its account is held.
          if (n.disabledAt !== null) continue;
          expect(input.policy.otherwise).toBe("disable");
          const owner = n.ownerId === null ? undefined : input.people.get(n.ownerId);
          const ownerStays =
            owner !== undefined && (owner.leavesAt === null || Date.parse(owner.leavesAt) > by.getTime());
          expect(ownerStays && n.pendingOwnerId === null).toBe(false);
          expect(Date.parse(f.at)).toBeGreaterThanOrEqual(NOW.getTime());
          expect(Date.parse(f.at)).toBeLessThanOrEqual(by.getTime());
        }
      }),
    );
  });
});

describe("leavingInstant: an HR leaving date takes effect as the lifecycle takes it", () => {
  const attrs = (over: Partial<WorkerAttributes>): WorkerAttributes => ({
    employeeId: "E9",
    givenName: "Ana",
    familyName: "Ng",
    displayName: "Ana Ng",
    email: null,
    department: null,
    title: null,
    location: null,
    costCenter: null,
    managerId: null,
    employmentType: "employee",
    status: "terminated",
    startDate: "2020-01-01",
    endDate: null,
    terminationDate: "2026-03-14",
    ...over,
  });

  it("is the start of the leaving day in the source's time zone, not midnight UTC", () => {
    // Auckland is UTC+13 in March (daylight time); Los Angeles UTC-7 (daylight time from 8 March 2026).
    expect(leavingInstant(attrs({}), "Pacific/Auckland")?.toISOString()).toBe("2026-03-13T11:00:00.000Z");
    expect(leavingInstant(attrs({}), "America/Los_Angeles")?.toISOString()).toBe("2026-03-14T07:00:00.000Z");
    expect(leavingInstant(attrs({}), "UTC")?.toISOString()).toBe("2026-03-14T00:00:00.000Z");
    // An end date earlier than the termination date decides, as it does for the lifecycle.
    expect(leavingInstant(attrs({ endDate: "2026-03-10" }), "UTC")?.toISOString()).toBe(
      "2026-03-10T00:00:00.000Z",
    );
    expect(leavingInstant(attrs({ status: "active", terminationDate: null }), "UTC")).toBeNull();
  });

  it("agrees with the lifecycle at every instant: terminated exactly from leavingInstant on", () => {
    const zones = [
      "UTC",
      "Pacific/Auckland",
      "Pacific/Kiritimati",
      "Pacific/Pago_Pago",
      "America/St_Johns",
      "Asia/Kathmandu",
    ];
    fc.assert(
      fc.property(
        fc.constantFrom(...zones),
        fc.integer({ min: 0, max: 3000 }),
        fc.integer({ min: -40 * 3600, max: 40 * 3600 }),
        (zone, dayOffset, seconds) => {
          const date = new Date(Date.UTC(2025, 0, 1) + dayOffset * DAY).toISOString().slice(0, 10);
          const a = attrs({ terminationDate: date });
          const at = leavingInstant(a, zone)!.getTime();
          const t = Date.parse(`${date}T00:00:00Z`) + seconds * 1000;
          const terminated = stateFromAttributes(a, localDate(new Date(t), zone)).state === "terminated";
          expect(terminated).toBe(t >= at);
        },
      ),
    );
  });

  it("disables on the local day: the owner leaving in Auckland is gone before midnight UTC", () => {
    const now = new Date("2026-03-10T00:00:00Z");
    const leaves = leavingInstant(attrs({}), "Pacific/Auckland")!.toISOString();
    const people = new Map<string, ForecastPerson>([
      ["e9", { key: "E9", leavesAt: leaves, leavesOn: "2026-03-14", successorId: null }],
    ]);
    const input: NhiDisableForecastInput = {
      nhis: [nhi("nz", { ownerId: "e9" })],
      people,
      policy: POLICY,
      now,
    };
    const [one] = forecastNhiDisables(input, new Date("2026-03-13T12:00:00Z"));
    expect(one?.at).toBe("2026-03-13T11:00:00.000Z");
    expect(one?.why).toBe("the owner E9 left on 2026-03-14 and there is nobody to pass ownership to");
  });
});
