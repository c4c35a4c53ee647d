import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { expiryWindow, instantOf, nhiFindings } from "./nhi-findings.js";
import type { NhiPolicy, NonHumanIdentity } from "./nhi-types.js";

const DAY = 86_400_000;
const NOW = new Date("2026-06-01T00:00:00Z");

const policy: NhiPolicy = {
  ownerRequired: true,
  maxCredentialAgeMs: { api_key: 90 * DAY, oauth_app: 365 * DAY },
  expiryWarningsMs: [30 * DAY, 7 * DAY, 1 * DAY],
  allowedScopes: { oauth_app: ["read:user", "repo:status"] },
  unusedAfterMs: { oauth_app: 90 * DAY, agent: 30 * DAY },
  onOwnerLeave: {
    passTo: "manager",
    fallback: null,
    confirmWithinMs: 7 * DAY,
    onMove: false,
    otherwise: "disable",
  },
};

function nhi(overrides: Partial<NonHumanIdentity> = {}): NonHumanIdentity {
  return {
    id: "n1",
    name: "billing",
    type: "api_key",
    system: null,
    purpose: null,
    ownerKey: "E1",
    ownerId: "id-E1",
    ownerSince: "2026-01-01T00:00:00Z",
    coOwnerKeys: [],
    createdOn: "2026-05-01",
    lastRotatedAt: null,
    expiresAt: null,
    lastUsedAt: null,
    scopes: [],
    scopeLastUsed: {},
    ownerAssignment: null,
    entitlements: [],
    origin: "config",
    account: null,
    pendingOwnerId: null,
    pendingSince: null,
    pendingDeadline: null,
    ownerlessReason: null,
    disabledReason: null,
    disabledAt: null,
    removedAt: null,
    createdAt: "2026-05-01T00:00:00Z",
    updatedAt: "2026-05-01T00:00:00Z",
    version: 1,
    ...overrides,
  };
}

const codes = (
  n: NonHumanIdentity,
  owner: { state: "active" | "terminated" } | undefined = { state: "active" },
) => nhiFindings(n, owner, policy, NOW).map((f) => f.code);

describe("NHI findings", () => {
  it("finds nothing wrong with a fresh, owned, unexpiring key", () => {
    expect(codes(nhi())).toEqual([]);
  });

  it("reports a missing, unknown or terminated owner — unless a successor is pending", () => {
    expect(codes(nhi({ ownerKey: null, ownerId: null }), undefined)).toEqual(["owner_missing"]);
    expect(codes(nhi({ ownerKey: "E9", ownerId: null }), undefined)).toEqual(["owner_unknown"]);
    expect(codes(nhi(), { state: "terminated" })).toEqual(["owner_terminated"]);
    expect(codes(nhi({ pendingOwnerId: "id-E2" }), { state: "terminated" })).toEqual([]);
    const kept = nhi({
      ownerId: null,
      ownerlessReason: "the owner left and there is nobody to pass ownership to",
    });
    expect(nhiFindings(kept, undefined, policy, NOW)[0]?.message).toMatch(/no owner: the owner left/);
  });

  it("says how old a credential is past its type's limit, counting from the last rotation", () => {
    const old = nhiFindings(nhi({ createdOn: "2026-01-01" }), { state: "active" }, policy, NOW);
    expect(old).toEqual([
      {
        nhi: "billing",
        code: "credential_age",
        severity: "medium",
        message: "billing: credential is 151 days old (since 2026-01-01), past the 90d allowed for api_key",
      },
    ]);
    expect(codes(nhi({ createdOn: "2026-01-01", lastRotatedAt: "2026-05-20T10:00:00Z" }))).toEqual([]);
    expect(codes(nhi({ type: "agent", createdOn: "2020-01-01" }))).toEqual([]);
  });

  it("warns within the smallest window reached, and reports expiry", () => {
    const in5 = nhiFindings(nhi({ expiresAt: "2026-06-06" }), { state: "active" }, policy, NOW);
    expect(in5.map((f) => [f.code, f.severity, f.message])).toEqual([
      ["expiring", "high", "billing: expires on 2026-06-06, within 7d"],
    ]);
    expect(codes(nhi({ expiresAt: "2026-06-01" }))).toEqual(["expired"]);
    expect(codes(nhi({ expiresAt: "2026-09-01" }))).toEqual([]);
  });

  it("flags scopes outside the allowed list of the type", () => {
    const app = nhi({ type: "oauth_app", scopes: ["read:user", "admin:org"] });
    expect(nhiFindings(app, { state: "active" }, policy, NOW).map((f) => f.message)).toEqual([
      "billing: scope admin:org is not allowed for oauth_app (nhi.policy.allowedScopes)",
    ]);
    expect(codes(nhi({ scopes: ["anything"] }))).toEqual([]);
  });

  it("flags an NHI unused past unusedAfter for its type, only where its last use is known", () => {
    const app = (o: Partial<NonHumanIdentity>) => nhi({ type: "oauth_app", scopes: ["read:user"], ...o });
    const idle = nhiFindings(app({ lastUsedAt: "2026-02-01" }), { state: "active" }, policy, NOW);
    expect(idle.map((f) => [f.code, f.severity, f.message])).toEqual([
      [
        "unused",
        "medium",
        "billing: not used for 120 days (last used 2026-02-01), past the 90d of nhi.policy.unusedAfter for oauth_app: remove it or revoke its credential",
      ],
    ]);
    // Used within the limit, never known to be used, or of a type without a limit: nothing.
    expect(codes(app({ lastUsedAt: "2026-04-01T12:00:00Z" }))).toEqual([]);
    expect(codes(app({ lastUsedAt: null }))).toEqual([]);
    expect(codes(nhi({ type: "api_key", lastUsedAt: "2020-01-01" }))).toEqual([]);
  });

  it("flags a scope unused past the limit where its last use is known, unless the whole NHI is unused", () => {
    const agent = nhi({
      type: "agent",
      scopes: ["tickets:read", "tickets:write", "mail:send"],
      lastUsedAt: "2026-05-30",
      scopeLastUsed: { "tickets:read": "2026-05-30", "tickets:write": "2026-03-01" },
    });
    expect(nhiFindings(agent, { state: "active" }, policy, NOW).map((f) => [f.code, f.message])).toEqual([
      [
        "unused_grant",
        "billing: scope tickets:write not used for 92 days (last used 2026-03-01), past the 30d of nhi.policy.unusedAfter for agent: revoke it",
      ],
    ]);
    // mail:send has no known last use: never flagged. The NHI unused as a whole: one finding.
    expect(codes({ ...agent, lastUsedAt: "2026-01-01" })).toEqual(["unused"]);
  });

  it("property: an NHI or scope whose last use is unknown is never unused", () => {
    fc.assert(
      fc.property(
        fc.constantFrom("service_account", "api_key", "oauth_app", "certificate", "agent" as const),
        fc.uniqueArray(fc.string({ minLength: 1, maxLength: 6 }), { maxLength: 4 }),
        fc.integer({ min: 1, max: 400 }),
        (type, scopes, limitDays) => {
          const all = Object.fromEntries(
            ["service_account", "api_key", "oauth_app", "certificate", "agent"].map((t) => [
              t,
              limitDays * DAY,
            ]),
          );
          const found = nhiFindings(
            nhi({ type, scopes, lastUsedAt: null, scopeLastUsed: {}, createdOn: "2026-05-30" }),
            { state: "active" },
            { ...policy, allowedScopes: {}, unusedAfterMs: all },
            NOW,
          );
          expect(found.filter((f) => f.code === "unused" || f.code === "unused_grant")).toEqual([]);
        },
      ),
    );
  });

  it("reports nothing of a disabled or removed NHI", () => {
    const bad = { ownerId: null, ownerKey: null, expiresAt: "2020-01-01" };
    expect(codes(nhi({ ...bad, disabledAt: NOW.toISOString() }), undefined)).toEqual([]);
    expect(codes(nhi({ ...bad, removedAt: NOW.toISOString() }), undefined)).toEqual([]);
  });

  it("property: an expiry warning is the smallest window holding the time left, and only before expiry", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -40 * DAY, max: 40 * DAY }),
        fc.uniqueArray(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 4 }),
        (left, days) => {
          const windows = days.map((d) => d * DAY);
          const expires = new Date(NOW.getTime() + left).toISOString();
          const got = expiryWindow(expires, windows, NOW);
          const holding = windows.filter((w) => left > 0 && left <= w);
          expect(got).toBe(holding.length === 0 ? undefined : Math.min(...holding));
          const found = nhiFindings(
            nhi({ expiresAt: expires }),
            { state: "active" },
            { ...policy, expiryWarningsMs: windows },
            NOW,
          ).map((f) => f.code);
          expect(found).toEqual(left <= 0 ? ["expired"] : got === undefined ? [] : ["expiring"]);
        },
      ),
    );
  });
});

describe("instantOf", () => {
  it("reads a plain date as Date.parse does at midnight UTC, and anything else through Date.parse", () => {
    const slow = (v: string) => Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(v) ? `${v}T00:00:00Z` : v);
    for (const v of [
      "2026-01-10",
      "2024-02-29",
      "2026-02-29",
      "2026-02-30",
      "2026-04-31",
      "2026-00-10",
      "2026-13-01",
      "2026-01-00",
      "2026-01-32",
      "0099-05-05",
      "0100-05-05",
      "9999-12-31",
      "2026-1a-01",
      "2026/01/10",
      "2026-01-10T12:30:00Z",
      "2026-01-10T12:30:00+02:00",
      "not a date",
    ]) {
      expect([v, instantOf(v)]).toEqual([v, slow(v)]);
    }
  });
});
