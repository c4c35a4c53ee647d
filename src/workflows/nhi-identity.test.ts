import { describe, expect, it } from "vitest";
import { computeDesiredAccess } from "../domain/desired-state.js";
import type { NonHumanIdentity } from "../domain/nhi-types.js";
import { validateConfigText } from "../policy/config-loader.js";
import { nhiIdentity } from "./nhi-identity.js";

const NOW = new Date("2026-06-01T00:00:00Z");

const nhi = (overrides: Partial<NonHumanIdentity> = {}): NonHumanIdentity => ({
  id: "n1",
  name: "billing-export",
  type: "service_account",
  system: null,
  purpose: null,
  ownerKey: "E1",
  ownerId: "id-E1",
  ownerSince: null,
  coOwnerKeys: [],
  createdOn: null,
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
  createdAt: NOW.toISOString(),
  updatedAt: NOW.toISOString(),
  version: 1,
  ...overrides,
});

describe("the identity of an NHI", () => {
  it("follows the NHI's state and names its owner as manager", () => {
    const active = nhiIdentity(nhi(), "E1", undefined, NOW);
    expect(active).toMatchObject({
      kind: "service",
      source: "nhi",
      sourceKey: "billing-export",
      state: "active",
    });
    expect(active.attributes).toMatchObject({
      managerId: "E1",
      displayName: "billing-export",
      employeeId: "",
    });
    const disabled = nhiIdentity(nhi({ disabledAt: NOW.toISOString() }), "E1", active, NOW);
    expect([disabled.state, disabled.attributes.status]).toEqual(["suspended", "leave"]);
    const removed = nhiIdentity(nhi({ removedAt: NOW.toISOString() }), "E1", disabled, NOW);
    expect([removed.state, removed.attributes.terminationDate]).toEqual(["terminated", "2026-06-01"]);
    expect(nhiIdentity(nhi(), "E1", active, NOW)).toBe(active);
  });

  it("gets nothing from a birthright rule that grants everyone", async () => {
    const { config, errors } = await validateConfigText(
      [
        "systems:",
        "  app:",
        "    connector: manual",
        "    owner: it@example.test",
        '    account: { username: "{employeeId}" }',
        "    config: { fulfiller: it@example.test }",
        "entitlements:",
        "  app:",
        "    readers: { displayName: Readers }",
        "roles:",
        "  everyone:",
        '    when: "true"',
        "    grants: [{ system: app, entitlements: [readers] }]",
      ].join("\n"),
      { path: "/tmp/tenure.yaml", env: {} },
    );
    expect(errors).toEqual([]);
    const input = {
      policy: config!.policy,
      lifecycle: config!.lifecycle,
      assignments: [],
      usernames: {},
      now: NOW,
      today: "2026-06-01",
    };
    const service = nhiIdentity(nhi(), "E1", undefined, NOW);
    expect(computeDesiredAccess({ ...input, identity: service }).systems).toEqual({});
    // The same attributes on a person do get it: the kind, not the data, keeps the NHI out.
    const human = {
      ...service,
      kind: "human" as const,
      attributes: { ...service.attributes, employeeId: "E7" },
    };
    expect(Object.keys(computeDesiredAccess({ ...input, identity: human }).systems)).toEqual(["app"]);
  });
});
