import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { WorkerAttributes } from "./identity-types.js";
import { createSodEvaluator, describeHolding } from "./sod.js";
import type { Holding } from "./sod-holding-types.js";
import type { SodItem, SodPolicy, SodRule } from "./sod-types.js";

const at = { file: "tenure.yaml", line: 10, column: 3 };
const role = (r: string): SodItem => ({ kind: "role", role: r });
const ent = (system: string, entitlement: string): SodItem => ({ kind: "entitlement", system, entitlement });
const attrs = { department: "Finance" } as unknown as WorkerAttributes;

function rule(name: string, condition: SodRule["condition"], extra: Partial<SodRule> = {}): SodRule {
  return {
    name,
    description: `${name} risk`,
    severity: "high",
    owner: "cfo@example.com",
    condition,
    scope: null,
    mitigations: [],
    location: at,
    ...extra,
  };
}

function policy(...rules: SodRule[]): SodPolicy {
  return { rules: Object.fromEntries(rules.map((r) => [r.name, r])), onBirthrightConflict: "report" };
}

function held(item: SodItem, from: string, until: string | null = null): Holding {
  return { item, from, until, source: "desired", lineage: [] };
}

const vendorPayment = rule("vendor-payment", {
  kind: "pair",
  sideA: [role("ap-clerk"), ent("erp", "vendor-create")],
  sideB: [ent("erp", "payment-approve")],
});

describe("separation-of-duties evaluation", () => {
  it("finds any item of side A held with any item of side B, with both sides and the window", () => {
    const e = createSodEvaluator(policy(vendorPayment));
    const v = e.evaluate("i1", attrs, [
      held(role("ap-clerk"), "2026-01-01T00:00:00.000Z"),
      held(ent("erp", "payment-approve"), "2026-01-05T00:00:00.000Z", "2026-02-01T00:00:00.000Z"),
      held(ent("wiki", "editors"), "2026-01-01T00:00:00.000Z"),
    ]);
    expect(v).toHaveLength(1);
    expect(v[0]).toMatchObject({
      identityId: "i1",
      rule: "vendor-payment",
      severity: "high",
      from: "2026-01-05T00:00:00.000Z",
      until: "2026-02-01T00:00:00.000Z",
      key: "i1|vendor-payment",
    });
    expect(v[0]!.sides.map((s) => s.item)).toEqual([role("ap-clerk"), ent("erp", "payment-approve")]);
  });

  it("sees no conflict when the windows do not overlap, and a future one at its start", () => {
    const e = createSodEvaluator(policy(vendorPayment));
    const apart = e.evaluate("i1", attrs, [
      held(role("ap-clerk"), "2026-01-01T00:00:00.000Z", "2026-01-10T00:00:00.000Z"),
      held(ent("erp", "payment-approve"), "2026-01-10T00:00:00.000Z", null),
    ]);
    expect(apart).toEqual([]);
    const later = e.evaluate("i1", attrs, [
      held(role("ap-clerk"), "2026-01-01T00:00:00.000Z"),
      held(ent("erp", "payment-approve"), "2026-03-01T00:00:00.000Z", "2026-03-02T00:00:00.000Z"),
    ]);
    expect(later[0]?.from).toBe("2026-03-01T00:00:00.000Z");
  });

  it("one side alone is no conflict, nor are two items of the same side", () => {
    const e = createSodEvaluator(policy(vendorPayment));
    expect(
      e.evaluate("i1", attrs, [
        held(role("ap-clerk"), "2026-01-01T00:00:00.000Z"),
        held(ent("erp", "vendor-create"), "2026-01-01T00:00:00.000Z"),
      ]),
    ).toEqual([]);
  });

  it("at most N of a set: more than N held at one moment", () => {
    const admins = rule("admin-sprawl", {
      kind: "atMost",
      max: 2,
      items: [role("db-admin"), role("net-admin"), role("cloud-admin")],
    });
    const e = createSodEvaluator(policy(admins));
    const two = [
      held(role("db-admin"), "2026-01-01T00:00:00.000Z"),
      held(role("net-admin"), "2026-01-01T00:00:00.000Z"),
    ];
    expect(e.evaluate("i1", attrs, two)).toEqual([]);
    // The third only after the second ended: never three at once.
    const staggered = [
      held(role("db-admin"), "2026-01-01T00:00:00.000Z"),
      held(role("net-admin"), "2026-01-01T00:00:00.000Z", "2026-01-05T00:00:00.000Z"),
      held(role("cloud-admin"), "2026-01-05T00:00:00.000Z"),
    ];
    expect(e.evaluate("i1", attrs, staggered)).toEqual([]);
    const three = [...two, held(role("cloud-admin"), "2026-01-03T00:00:00.000Z", "2026-01-04T00:00:00.000Z")];
    const v = e.evaluate("i1", attrs, three);
    expect(v).toHaveLength(1);
    expect(v[0]!.sides).toHaveLength(3);
    expect(v[0]).toMatchObject({ from: "2026-01-03T00:00:00.000Z", until: "2026-01-04T00:00:00.000Z" });
  });

  it("a scope that is false for the identity leaves the rule out", () => {
    const scoped = rule("vendor-payment", vendorPayment.condition, {
      scope: {
        source: 'department != "Finance"',
        location: at,
        reads: ["department"],
        evaluate: (a) => ({ value: a.department !== "Finance" }),
      },
    });
    const e = createSodEvaluator(policy(scoped));
    const holdings = [
      held(role("ap-clerk"), "2026-01-01T00:00:00.000Z"),
      held(ent("erp", "payment-approve"), "2026-01-01T00:00:00.000Z"),
    ];
    expect(e.evaluate("i1", attrs, holdings)).toEqual([]);
    expect(e.evaluate("i1", { department: "Sales" } as unknown as WorkerAttributes, holdings)).toHaveLength(
      1,
    );
  });

  it("`involving` keeps only conflicts a given holding takes part in (a request's new access)", () => {
    const e = createSodEvaluator(policy(vendorPayment));
    const asked = held(ent("erp", "payment-approve"), "2026-01-01T00:00:00.000Z", "2026-01-02T00:00:00.000Z");
    const existing = [held(role("ap-clerk"), "2026-01-01T00:00:00.000Z")];
    expect(e.evaluate("i1", attrs, [...existing, asked], { involving: (h) => h === asked })).toHaveLength(1);
    expect(e.evaluate("i1", attrs, [...existing, asked], { involving: () => false })).toEqual([]);
  });

  it("says why a holding is held", () => {
    expect(
      describeHolding({
        item: ent("erp", "payment-approve"),
        from: "2026-01-01T00:00:00.000Z",
        until: null,
        source: "found",
        lineage: [],
        account: { system: "erp", username: "jdoe", managed: false },
      }),
    ).toBe("found in erp on account jdoe, not granted by Tenure (added in the system directly)");
    expect(
      describeHolding({
        item: role("ap-clerk"),
        from: "2026-01-01T00:00:00.000Z",
        until: null,
        source: "desired",
        lineage: [{ kind: "role", role: "ap-clerk", chain: ["ap-clerk"], rule: null }],
      }),
    ).toBe("birthright role ap-clerk");
  });

  it("property: a pair conflict is found exactly when some A and some other B overlap in time", () => {
    const items = [role("a1"), role("a2"), role("b1"), role("b2"), role("x")];
    const pair = rule("r", {
      kind: "pair",
      sideA: [role("a1"), role("a2")],
      sideB: [role("b1"), role("b2")],
    });
    const e = createSodEvaluator(policy(pair));
    const base = Date.parse("2026-01-01T00:00:00.000Z");
    const holding = fc
      .record({
        item: fc.constantFrom(...items),
        start: fc.integer({ min: 0, max: 20 }),
        length: fc.option(fc.integer({ min: 1, max: 10 }), { nil: null }),
      })
      .map(({ item, start, length }) =>
        held(
          item,
          new Date(base + start * 3_600_000).toISOString(),
          length === null ? null : new Date(base + (start + length) * 3_600_000).toISOString(),
        ),
      );
    fc.assert(
      fc.property(fc.array(holding, { maxLength: 8 }), (holdings) => {
        const win = (h: Holding) =>
          [Date.parse(h.from), h.until === null ? Infinity : Date.parse(h.until)] as const;
        const isA = (h: Holding) => h.item.kind === "role" && h.item.role.startsWith("a");
        const isB = (h: Holding) => h.item.kind === "role" && h.item.role.startsWith("b");
        let earliest = Infinity;
        for (const a of holdings.filter(isA)) {
          for (const b of holdings.filter(isB)) {
            const [af, au] = win(a);
            const [bf, bu] = win(b);
            const from = Math.max(af, bf);
            if (from < Math.min(au, bu)) earliest = Math.min(earliest, from);
          }
        }
        const found = e.evaluate("i", attrs, holdings);
        expect(found.length).toBe(earliest === Infinity ? 0 : 1);
        if (found[0] !== undefined) expect(Date.parse(found[0].from)).toBe(earliest);
      }),
      { numRuns: 500 },
    );
  });
});
