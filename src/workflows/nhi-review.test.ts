/**
 * OAuth apps and agents feed recertification (issue 17, item 6) over a real store (SQLite and PostgreSQL):
 * an NHI synced from the inventory, holding access assigned to it, is an item of a `nonHuman` campaign
 * reviewed by `nhi-owner` — its owner, a person of another source — and, once another owner is assigned
 * by hand, the next campaign asks the new owner. (On SQLite the owner used to be looked up inside the
 * campaign's write transaction, on its one connection: the campaign hung.)
 */
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { storeFactories, type TestStore } from "../../test/helpers/databases.js";
import { reviewDefinition } from "../../test/helpers/review-definition.js";
import { testPerson } from "../../test/helpers/test-person.js";
import { tempDir } from "../../test/helpers/workspace.js";
import type { Assignment } from "../domain/access-types.js";
import { loadConfig } from "../policy/config-loader.js";
import type { TenureConfig } from "../policy/config-types.js";
import { assignmentRepository } from "../store/assignment-repository.js";
import { identityRepository } from "../store/identity-repository.js";
import { nhiRepository } from "../store/nhi-repository.js";
import { reviewCampaignRepository, reviewItemRepository } from "../store/review-repository.js";
import { syncNhiInventory } from "./nhi-inventory.js";
import { assignNhiOwner } from "./nhi-owner.js";
import { startCampaign } from "./review-generation.js";

const NOW = new Date("2026-12-04T09:00:00Z");

const YAML = `
sources:
  hr: { type: push, key: employeeId, timeZone: UTC }
systems:
  erp:
    connector: manual
    account: { username: "{employeeId}" }
    config: { fulfiller: erp-ops@example.test }
entitlements:
  erp:
    exports: {}
    invoices: {}
notify:
  email: { smtp: "smtp://127.0.0.1:2525", from: "Tenure <tenure@example.test>" }
nhi:
  inventory:
    - { name: gh-app, type: oauth_app, owner: E1, scopes: [read:user] }
    - { name: triage-agent, type: agent, owner: E2, scopes: [tickets:write] }
`;

const definition = (name: string) =>
  reviewDefinition(
    {
      name,
      stages: [{ reviewer: { kind: "nhi-owner" } }],
      remindDaysBefore: [],
      location: { file: "test", line: 1, column: 1 },
    },
    { nonHuman: true },
  );

const person = (key: string) => testPerson(key, { at: new Date("2020-01-01T00:00:00Z"), department: "IT" });

describe.each(await storeFactories())("NHI access reviewed by its owner on %s", (_kind, makeStore) => {
  let store: TestStore;
  let config: TenureConfig;
  let dir: { dir: string; dispose: () => Promise<void> };
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    store = await makeStore();
    dir = await tempDir();
    await writeFile(path.join(dir.dir, "tenure.yaml"), YAML);
    config = await loadConfig(path.join(dir.dir, "tenure.yaml"), { env: {} });
    await identityRepository.upsertMany(store.db, [person("E1"), person("E2"), person("E3")]);
    await syncNhiInventory(store, config, { now: NOW, actor: "test" });
    for (const [name, entitlement] of [
      ["gh-app", "exports"],
      ["triage-agent", "invoices"],
    ] as const) {
      const nhi = (await nhiRepository.findByName(store.db, name))!;
      ids[name] = nhi.id;
      const assignment: Assignment = {
        id: `as-${name}`,
        identityId: nhi.id,
        target: { system: "erp", entitlement },
        employment: 1,
        validFrom: "2026-11-01T00:00:00.000Z",
        validUntil: null,
        reason: "test",
        approvedBy: "E1",
        revokedAt: null,
        requestId: null,
      };
      await assignmentRepository.insert(store.db, assignment, NOW.toISOString());
    }
  });
  afterAll(async () => {
    await store.dispose();
    await dir.dispose();
  });

  const reviewers = async (campaignId: string) =>
    Object.fromEntries(
      (await reviewItemRepository.list(store.db, { campaignId })).map((i) => [
        `${i.identityId === ids["gh-app"] ? "gh-app" : "triage-agent"} ${i.accessKey}`,
        i.reviewerId,
      ]),
    );

  it("asks each OAuth app's and agent's owner, and the owner assigned by hand after", async () => {
    const first = await startCampaign(store.db, config, definition("nhi-q1"), {
      now: NOW,
      startedBy: "test",
      kind: "ad-hoc",
    });
    expect(await reviewers(first.campaign!.id)).toEqual({
      "gh-app entitlement:erp:exports": "id-E1",
      "triage-agent entitlement:erp:invoices": "id-E2",
    });
    await reviewCampaignRepository.close(store.db, first.campaign!.id, NOW.toISOString(), "test");

    await assignNhiOwner(store, config, "triage-agent", { owner: "E3" }, { now: NOW, actor: "test" });
    const second = await startCampaign(store.db, config, definition("nhi-q2"), {
      now: new Date(NOW.getTime() + 60_000),
      startedBy: "test",
      kind: "ad-hoc",
    });
    expect(await reviewers(second.campaign!.id)).toEqual({
      "gh-app entitlement:erp:exports": "id-E1",
      "triage-agent entitlement:erp:invoices": "id-E3",
    });
  });
});
