import { writeFile } from "node:fs/promises";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { workerAttributes } from "../../test/fakes/worker-attributes.js";
import { storeFactories, type TestStore } from "../../test/helpers/databases.js";
import { tempDir } from "../../test/helpers/workspace.js";
import type { Account } from "../domain/access-types.js";
import type { Identity, WorkerAttributes } from "../domain/identity-types.js";
import { loadConfig } from "../policy/config-loader.js";
import type { TenureConfig } from "../policy/config-types.js";
import { accountLinkRepository, accountRepository } from "../store/account-repository.js";
import { identityRepository } from "../store/identity-repository.js";
import { planIdentities } from "./identity-plan.js";
import { computeProvisionPlan } from "./provision.js";

const NOW = new Date("2026-03-02T10:00:00Z");
const AT = NOW.toISOString();

const YAML = `
sources:
  hr: { type: push }
systems:
  wiki:
    connector: sql
    account: { username: "{givenName}.{familyName}", attributes: { email: "{email}" } }
    config:
      url: "sqlite:./wiki.db"
      users: { table: users, id: id, username: login, enabled: { column: active }, attributes: { email: mail } }
      memberships: { table: members, user: user_id, group: group_name }
  chat:
    connector: sql
    account: { username: "{givenName}.{familyName}", collision: fail }
    config:
      url: "sqlite:./chat.db"
      users: { table: users, id: id, username: login, enabled: { column: active } }
      memberships: { table: members, user: user_id, group: group_name }
entitlements:
  wiki: { editors: { displayName: Editors } }
  chat: { general: { displayName: General } }
roles:
  staff:
    when: "employmentType == 'employee'"
    grants: [{ system: wiki, entitlements: [editors] }, { system: chat, entitlements: [general] }]
`;

function identity(id: string, key: string, attributes: Partial<WorkerAttributes> = {}): Identity {
  return {
    id,
    kind: "human",
    source: "hr",
    sourceKey: key,
    state: "active",
    attributes: workerAttributes({
      employeeId: key,
      email: `${key.toLowerCase()}@example.test`,
      ...attributes,
    }),
    employment: 1,
    stateSince: AT,
    createdAt: AT,
    updatedAt: AT,
    lastRecordId: null,
    previousAttributes: null,
    attributesChangedAt: null,
  };
}

function account(
  system: string,
  username: string,
  identityId: string | null,
  extra: Partial<Account> = {},
): Account {
  return {
    system,
    nativeId: username,
    username,
    identityId,
    enabled: true,
    attributes: {},
    entitlements: [],
    managedEntitlements: [],
    managed: identityId !== null,
    lastSeenAt: AT,
    lastUsedAt: null,
    ...extra,
  };
}

describe.each(await storeFactories())("planIdentities on %s", (_kind, makeStore) => {
  let store: TestStore;
  let config: TenureConfig;
  let dispose: () => Promise<void>;

  beforeEach(async () => {
    const ws = await tempDir("tenure-identity-plan-");
    dispose = ws.dispose;
    await writeFile(path.join(ws.dir, "tenure.yaml"), YAML);
    config = await loadConfig(path.join(ws.dir, "tenure.yaml"), { env: {} });
    store = await makeStore();
  });
  afterEach(async () => {
    await store.dispose();
    await dispose();
  });

  it("plans a few identities exactly as the full plan does, reading only what they need", async () => {
    // Three Ada Lovelaces. E1 has both accounts; E2 is linked to ada.lovelace2 in the wiki, a name an
    // orphan account holds; E3 is linked to ada.lovelace3 without an account yet. E4 will leave.
    const e1 = identity("i1", "E1");
    const e2 = identity("i2", "E2");
    const e3 = identity("i3", "E3");
    const e4 = identity("i4", "E4", {
      givenName: "Grace",
      familyName: "Hopper",
      displayName: "Grace Hopper",
    });
    await identityRepository.upsertMany(store.db, [e1, e2, e3, e4]);
    await accountRepository.upsertMany(
      store.db,
      [
        account("wiki", "ada.lovelace", "i1", {
          entitlements: ["editors"],
          managedEntitlements: ["editors"],
        }),
        account("chat", "ada.lovelace", "i1", {
          entitlements: ["general"],
          managedEntitlements: ["general"],
        }),
        account("wiki", "ada.lovelace2", null),
        account("wiki", "grace.hopper", "i4", {
          entitlements: ["editors"],
          managedEntitlements: ["editors"],
          attributes: { email: "e4@example.test" },
        }),
        account("chat", "grace.hopper", null),
      ],
      AT,
    );
    await accountLinkRepository.insertMany(
      store.db,
      [
        { identityId: "i2", system: "wiki", username: "ada.lovelace2" },
        { identityId: "i2", system: "chat", username: "ada.e2" },
        { identityId: "i3", system: "wiki", username: "ada.lovelace3" },
        { identityId: "i3", system: "chat", username: "ada.e3" },
        { identityId: "i4", system: "chat", username: "grace.hopper" },
      ],
      AT,
    );

    // A joiner E5 named like everyone else, and E4 leaving: the push plans only these two.
    const e5 = identity("i5", "E5");
    const e4Leaves = {
      ...e4,
      state: "terminated" as const,
      attributes: { ...e4.attributes, status: "terminated" as const, terminationDate: "2026-03-02" },
    };
    await identityRepository.upsertMany(store.db, [e5]);
    const targeted = await planIdentities(store, config, [e5, e4Leaves], NOW);

    const full = await computeProvisionPlan(store, config, { now: NOW, overrides: [e4Leaves] });
    const mine = (id: string | null) => id === "i4" || id === "i5";
    expect(targeted.operations).toEqual(full.operations.filter((op) => mine(op.identityId)));
    expect(targeted.problems).toEqual(full.problems.filter((p) => mine(p.identityId)));
    expect(targeted.allocated.get("i5")).toEqual(full.allocated.get("i5"));

    // ada.lovelace is E1's, ada.lovelace2 an orphan's, ada.lovelace3 linked to E3: the joiner gets 4.
    // In chat the collision rule is fail, so no chat account and a problem saying why.
    expect(targeted.allocated.get("i5")).toEqual({ wiki: "ada.lovelace4" });
    expect(targeted.problems.map((p) => [p.identityId, p.kind, p.system])).toContainEqual([
      "i5",
      "username-taken",
      "chat",
    ]);
    expect(
      targeted.operations.filter((op) => op.identityId === "i4").map((op) => [op.system, op.kind]),
    ).toEqual([["wiki", "disable"]]);
    // No orphan of the full plan leaks into the targeted one.
    expect(targeted.operations.every((op) => op.identityId === "i4" || op.identityId === "i5")).toBe(true);
  });

  it("reads on past ten taken names when the base is crowded", async () => {
    const crowd = Array.from({ length: 12 }, (_, i) => (i === 0 ? "ada.lovelace" : `ada.lovelace${i + 1}`));
    await accountRepository.upsertMany(
      store.db,
      crowd.map((name) => account("wiki", name, null)),
      AT,
    );
    const joiners = [identity("j1", "J1"), identity("j2", "J2")];
    await identityRepository.upsertMany(store.db, joiners);
    const targeted = await planIdentities(store, config, joiners, NOW);
    expect(targeted.allocated.get("j1")?.wiki).toBe("ada.lovelace13");
    expect(targeted.allocated.get("j2")?.wiki).toBe("ada.lovelace14");
    const full = await computeProvisionPlan(store, config, { now: NOW });
    expect(targeted.allocated.get("j2")).toEqual(full.allocated.get("j2"));
  });

  it("reads the names of many people's bases together, one read a round per system", async () => {
    const crowd = Array.from({ length: 12 }, (_, i) => (i === 0 ? "ada.lovelace" : `ada.lovelace${i + 1}`));
    await accountRepository.upsertMany(
      store.db,
      crowd.map((name) => account("wiki", name, null)),
      AT,
    );
    const joiners = [
      identity("j1", "J1"),
      identity("j2", "J2", { givenName: "Grace", familyName: "Hopper" }),
      identity("j3", "J3", { givenName: "Alan", familyName: "Turing" }),
      identity("j4", "J4", { givenName: "Grace", familyName: "Hopper" }),
    ];
    await identityRepository.upsertMany(store.db, joiners);
    const reads = vi.spyOn(accountLinkRepository, "takenAmong");
    try {
      const targeted = await planIdentities(store, config, joiners, NOW);
      // wiki: a first round for the three bases, a second for the crowded one; chat: one round.
      expect(reads).toHaveBeenCalledTimes(3);
      expect(targeted.allocated.get("j1")?.wiki).toBe("ada.lovelace13");
      expect([targeted.allocated.get("j2")?.wiki, targeted.allocated.get("j4")?.wiki].sort()).toEqual([
        "grace.hopper",
        "grace.hopper2",
      ]);
      expect(targeted.allocated.get("j3")?.wiki).toBe("alan.turing");
      const full = await computeProvisionPlan(store, config, { now: NOW });
      for (const j of joiners) expect(targeted.allocated.get(j.id)).toEqual(full.allocated.get(j.id));
    } finally {
      reads.mockRestore();
    }
  });
});
