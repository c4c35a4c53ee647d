import { reviewDefinition, reviewScope } from "../../test/helpers/review-definition.js";
/**
 * Starting a review campaign over a real store (SQLite and PostgreSQL): items for birthright,
 * assignments, mover grace and access found only in the target, with lineage; each risk reason; the
 * reviewer (self-review rerouted to the manager, nobody when there is none); leavers left out; the scope
 * filters; one transaction with the audit event and a notification per reviewer; riskiest first.
 */

import { writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { storeFactories, type TestStore } from "../../test/helpers/databases.js";
import { tempDir } from "../../test/helpers/workspace.js";
import { queryEvents } from "../audit/ledger.js";
import type { Account, Assignment, RoleRule } from "../domain/access-types.js";
import type { Identity, WorkerAttributes } from "../domain/identity-types.js";
import type { ReviewDefinition, ReviewScope } from "../domain/review-types.js";
import { loadConfig } from "../policy/config-loader.js";
import type { TenureConfig } from "../policy/config-types.js";
import { accountRepository } from "../store/account-repository.js";
import { assignmentRepository } from "../store/assignment-repository.js";
import { identityRepository } from "../store/identity-repository.js";
import { notificationRepository } from "../store/notification-repository.js";
import {
  type ReviewItem,
  reviewCampaignRepository,
  reviewItemRepository,
} from "../store/review-repository.js";
import { sodViolationRepository } from "../store/sod-repository.js";
import { startCampaign } from "./review-generation.js";

const NOW = new Date("2026-12-04T09:00:00Z");
const LOC = { file: "test", line: 1, column: 1 };

const YAML = `
sources:
  hr: { type: push, key: employeeId, timeZone: UTC }
lifecycle:
  moverGraceDays: 14
systems:
  erp:
    connector: manual
    owner: sam@example.test
    account: { username: "{employeeId}" }
    config: { fulfiller: erp-ops@example.test }
  crm:
    connector: manual
    account: { username: "{employeeId}" }
    config: { fulfiller: crm-ops@example.test }
entitlements:
  erp:
    read: {}
    admin: { privileged: true, owner: ana@example.test }
    payments: {}
  crm:
    leads: {}
roles:
  accountant:
    when: "department == 'Finance'"
    grants: [{ system: erp, entitlements: [read] }]
  seller:
    when: "department == 'Sales'"
    grants: [{ system: crm, entitlements: [leads] }]
  erp-admin:
    grants: [{ system: erp, entitlements: [admin] }]
    requestable: { defaultDuration: 8h, maxDuration: 30d, approval: [manager] }
notify:
  email: { smtp: "smtp://127.0.0.1:2525", from: "Tenure <tenure@example.test>" }
`;

const _scope = reviewScope;

function definition(
  overrides: Partial<ReviewDefinition> = {},
  s: Partial<ReviewScope> = {},
): ReviewDefinition {
  return reviewDefinition(
    { onNoResponse: { high: "escalate", medium: "keep", low: "keep" }, location: LOC, ...overrides },
    s,
  );
}

let seq = 0;
function person(key: string, attrs: Partial<WorkerAttributes>, extra: Partial<Identity> = {}): Identity {
  const attributes: WorkerAttributes = {
    employeeId: key,
    givenName: key,
    familyName: "Test",
    displayName: `${key} Test`,
    email: `${key}@example.test`,
    department: "Finance",
    title: "Accountant",
    location: null,
    costCenter: null,
    managerId: "boss",
    employmentType: "employee",
    status: "active",
    startDate: "2020-01-01",
    endDate: null,
    terminationDate: null,
    ...attrs,
  };
  return {
    id: `id-${key}-${++seq}`,
    kind: "human",
    source: "hr",
    sourceKey: key,
    state: "active",
    attributes,
    employment: 1,
    stateSince: "2020-01-01T00:00:00.000Z",
    createdAt: "2020-01-01T00:00:00.000Z",
    updatedAt: "2020-01-01T00:00:00.000Z",
    lastRecordId: null,
    previousAttributes: null,
    attributesChangedAt: null,
    ...extra,
  };
}

function account(
  identity: Identity,
  system: string,
  entitlements: string[],
  lastUsedAt: string | null,
  managed = entitlements,
): Account {
  return {
    system,
    nativeId: null,
    username: identity.sourceKey,
    identityId: identity.id,
    enabled: true,
    attributes: {},
    entitlements,
    managedEntitlements: managed,
    managed: true,
    lastSeenAt: NOW.toISOString(),
    lastUsedAt,
  };
}

describe.each(await storeFactories())("starting a review campaign on %s", (_kind, makeStore) => {
  let store: TestStore;
  let config: TenureConfig;
  let dir: { dir: string; dispose: () => Promise<void> };
  const p: Record<string, Identity> = {};

  beforeAll(async () => {
    store = await makeStore();
    dir = await tempDir();
    await writeFile(path.join(dir.dir, "tenure.yaml"), YAML);
    config = await loadConfig(path.join(dir.dir, "tenure.yaml"), { env: {} });
    p.boss = person("boss", { title: "Head of Finance", managerId: null });
    p.ana = person("ana", {});
    for (let i = 1; i <= 6; i++) p[`peer${i}`] = person(`peer${i}`, {});
    p.leaver = person(
      "leaver",
      { status: "terminated", terminationDate: "2026-11-01" },
      { state: "terminated" },
    );
    // Moved from Sales to Finance three days ago: crm:leads is kept for the 14 days of grace.
    p.mo = person(
      "mo",
      { title: "Analyst" },
      {
        previousAttributes: { ...person("mo", { department: "Sales", title: "Seller" }).attributes },
        attributesChangedAt: "2026-12-01T09:00:00.000Z",
      },
    );
    p.sam = person("sam", { department: "IT", title: "ERP Owner" });
    await identityRepository.upsertMany(store.db, Object.values(p));
    const assignment = (
      id: string,
      who: Identity,
      target: Assignment["target"],
      requestId: string | null,
    ): Assignment => ({
      id,
      identityId: who.id,
      target,
      employment: 1,
      validFrom: "2026-11-01T00:00:00.000Z",
      validUntil: null,
      reason: "test",
      approvedBy: "boss",
      revokedAt: null,
      requestId,
    });
    await assignmentRepository.insert(
      store.db,
      assignment("as-ana", p.ana!, { role: "erp-admin" }, "req-1"),
      NOW.toISOString(),
    );
    await assignmentRepository.insert(
      store.db,
      assignment("as-leaver", p.leaver!, { role: "erp-admin" }, null),
      NOW.toISOString(),
    );
    const old = "2026-07-14T08:00:00.000Z";
    const recent = "2026-12-01T08:00:00.000Z";
    await accountRepository.upsertMany(
      store.db,
      [
        account(p.ana!, "erp", ["read", "admin", "payments"], old, ["read", "admin"]),
        ...[1, 2, 3, 4, 5, 6].map((i) => account(p[`peer${i}`]!, "erp", ["read"], recent)),
        account(p.boss!, "erp", ["read"], recent),
        account(p.mo!, "crm", ["leads"], null),
      ],
      NOW.toISOString(),
    );
    await sodViolationRepository.insertMany(store.db, [
      {
        id: "v1",
        identityId: p.ana!.id,
        rule: "pay-and-admin",
        severity: "high",
        withheld: false,
        sides: [
          {
            item: { kind: "entitlement", system: "erp", entitlement: "payments" },
            label: "erp:payments",
            why: [],
          },
          { item: { kind: "role", role: "erp-admin" }, label: "role erp-admin", why: [] },
        ],
        heldFrom: "2026-11-01T00:00:00.000Z",
        heldUntil: null,
        openedAt: "2026-11-01T00:00:00.000Z",
        lastSeenAt: "2026-11-01T00:00:00.000Z",
        closedAt: null,
        closeReason: null,
      },
    ]);
  });
  afterAll(async () => {
    await store.dispose();
    await dir.dispose();
  });

  async function itemsOf(campaignId: string): Promise<ReviewItem[]> {
    return reviewItemRepository.list(store.db, { campaignId, limit: 1000 });
  }
  const find = (items: ReviewItem[], who: string, key: string) =>
    items.find((i) => i.identityId === p[who]!.id && i.accessKey === key);

  it("makes one item per piece of access, from birthright, an assignment, mover grace and the target, with lineage and risk", async () => {
    const started = await startCampaign(store.db, config, definition(), {
      now: NOW,
      startedBy: "token:admin",
      kind: "ad-hoc",
    });
    expect(started.campaign).not.toBeNull();
    const items = await itemsOf(started.campaign!.id);
    expect(items).toHaveLength(started.items);
    // ana: read (birthright), admin (request), payments (found); 6 peers + boss: read; mo: erp:read by
    // its new birthright (no account there yet) and crm:leads kept by grace.
    expect(started.items).toBe(3 + 6 + 1 + 2);
    expect(items.some((i) => i.identityId === p.leaver!.id)).toBe(false);
    expect(items.some((i) => i.identityId === p.sam!.id)).toBe(false);

    const read = find(items, "ana", "entitlement:erp:read")!;
    expect(read).toMatchObject({
      source: "birthright",
      privileged: false,
      reviewerId: p.boss!.id,
      rerouteReason: null,
    });
    expect(read.evidence.lineage).toEqual([expect.objectContaining({ kind: "role", role: "accountant" })]);

    const admin = find(items, "ana", "entitlement:erp:admin")!;
    expect(admin).toMatchObject({ source: "assignment", assignmentId: "as-ana", privileged: true });
    expect(admin.evidence.lineage).toEqual([
      expect.objectContaining({ kind: "assignment", assignmentId: "as-ana", requestId: "req-1" }),
    ]);
    expect(admin.risk.reasons.map((r) => r.code)).toEqual([
      "privileged",
      "sod-violation",
      "unused",
      "rare-among-peers",
      "requested",
      "never-reviewed",
    ]);
    expect(admin.risk.reasons.find((r) => r.code === "unused")!.detail).toBe(
      "no login for 143 days (last 2026-07-14)",
    );
    expect(admin.risk.reasons.find((r) => r.code === "rare-among-peers")!.detail).toBe(
      "held by 0 of 6 peers (0%)",
    );
    expect(admin.evidence).toMatchObject({
      sodRules: ["pay-and-admin"],
      lastUsedAt: "2026-07-14T08:00:00.000Z",
      peers: { total: 6, holding: 0 },
    });
    expect(admin.risk).toMatchObject({ score: 100, level: "high", recommendation: "revoke" });

    const payments = find(items, "ana", "entitlement:erp:payments")!;
    expect(payments).toMatchObject({ source: "found", evidence: { lineage: [] } });
    expect(payments.risk.reasons.map((r) => r.code)).toContain("found-in-target-only");
    expect(payments.risk.reasons.map((r) => r.code)).toContain("sod-violation");

    const kept = find(items, "mo", "entitlement:crm:leads")!;
    expect(kept.source).toBe("mover-grace");
    expect(kept.evidence.lineage[0]).toMatchObject({ kind: "mover-grace" });
    // crm reports no last use at all: an account there without one says nothing.
    expect(kept.risk.reasons.map((r) => r.code)).toEqual(["kept-after-move", "never-reviewed"]);

    const peerRead = find(items, "peer1", "entitlement:erp:read")!;
    expect(peerRead.risk.reasons.map((r) => r.code)).toEqual(["never-reviewed"]);
    expect(peerRead.risk).toMatchObject({ level: "low", recommendation: "keep" });

    // The boss has no manager: nobody reviews their access (an admin assigns someone).
    expect(find(items, "boss", "entitlement:erp:read")).toMatchObject({
      reviewerId: null,
      rerouteReason: "no-reviewer",
    });

    // Riskiest first, page by page.
    const page = await reviewItemRepository.list(store.db, {
      reviewerId: p.boss!.id,
      campaignId: started.campaign!.id,
      limit: 3,
    });
    expect(page[0]!.id).toBe(admin.id);
    expect(page.map((i) => i.risk.score)).toEqual([...page.map((i) => i.risk.score)].sort((a, b) => b - a));

    // The campaign, its event and one notice per reviewer.
    const campaign = await reviewCampaignRepository.find(store.db, started.campaign!.id);
    expect(campaign).toMatchObject({
      definition: "quarterly",
      items: started.items,
      status: "open",
      deadline: "2026-12-18T09:00:00.000Z",
    });
    const events = await queryEvents(store.db, { subject: `campaign:${started.campaign!.id}`, limit: 10 });
    expect(events.map((e) => e.action)).toEqual(["review.campaign_started"]);
    expect(events[0]!.details).toMatchObject({ items: started.items, noReviewer: 1, selfReview: 0 });
    expect(started.byReviewer.get(p.boss!.id)).toEqual({ items: 11, high: 2 });
    const notices = (await notificationRepository.list(store.db, { limit: 100 })).filter(
      (n) => n.event === "review.assigned",
    );
    expect(notices.map((n) => n.recipient)).toEqual(["boss@example.test"]);
  });

  it("sends an owner's own access to their manager, and says whom the rule named", async () => {
    const started = await startCampaign(
      store.db,
      config,
      definition(
        { name: "owners", stages: [{ reviewer: { kind: "access-owner" } }] },
        { privilegedOnly: true },
      ),
      { now: NOW, startedBy: "scheduler", kind: "scheduled" },
    );
    const items = await itemsOf(started.campaign!.id);
    expect(items).toHaveLength(1);
    expect(items[0]).toMatchObject({
      identityId: p.ana!.id,
      reviewerId: p.boss!.id,
      ruleReviewerId: p.ana!.id,
      rerouteReason: "self-review",
    });
  });

  it("reviews system owners' systems, and nobody when the rule names no one", async () => {
    const started = await startCampaign(
      store.db,
      config,
      definition({ name: "systems", stages: [{ reviewer: { kind: "system-owner" } }] }),
      { now: NOW, startedBy: "scheduler", kind: "scheduled" },
    );
    const items = await itemsOf(started.campaign!.id);
    expect(
      new Set(items.filter((i) => i.accessKey.startsWith("entitlement:erp:")).map((i) => i.reviewerId)),
    ).toEqual(new Set([p.sam!.id]));
    expect(find(items, "mo", "entitlement:crm:leads")).toMatchObject({
      reviewerId: null,
      rerouteReason: "no-reviewer",
    });
  });

  it("refuses to start a definition that has a campaign open", async () => {
    const def = definition({ name: "twice" }, {});
    const first = await startCampaign(store.db, config, def, { now: NOW, startedBy: "test", kind: "ad-hoc" });
    expect(first.campaign).not.toBeNull();
    await expect(
      startCampaign(store.db, config, def, { now: NOW, startedBy: "test", kind: "scheduled" }),
    ).rejects.toMatchObject({ code: "campaign_open", httpStatus: 409 });
    expect((await reviewCampaignRepository.list(store.db, { definition: "twice" })).length).toBe(1);
  });

  it("applies each scope filter", async () => {
    let run = 0;
    // One open campaign per definition: each scope runs under its own name.
    const keys = async (s: Partial<ReviewScope>) => {
      const started = await startCampaign(store.db, config, definition({ name: `scoped-${++run}` }, s), {
        now: NOW,
        startedBy: "test",
        kind: "ad-hoc",
      });
      if (started.campaign === null) return [];
      return (await itemsOf(started.campaign.id))
        .map((i) => `${i.identityId.split("-")[1]}:${i.accessKey}`)
        .sort();
    };
    expect(await keys({ systems: ["crm"] })).toEqual(["mo:entitlement:crm:leads"]);
    expect(await keys({ privilegedOnly: true })).toEqual(["ana:entitlement:erp:admin"]);
    expect(await keys({ requestedOnly: true })).toEqual(["ana:entitlement:erp:admin"]);
    expect(await keys({ keptAfterMove: true })).toEqual(["mo:entitlement:crm:leads"]);
    expect(await keys({ roles: ["erp-admin"] })).toEqual(["ana:role:erp-admin"]);
    const where: RoleRule = {
      source: "title == 'Analyst'",
      location: LOC,
      reads: ["title"],
      evaluate: (a) => ({ value: a.title === "Analyst" }),
    };
    expect(await keys({ where })).toEqual(["mo:entitlement:crm:leads", "mo:entitlement:erp:read"]);
    // Nothing in scope: no campaign.
    expect(await keys({ entitlements: [{ system: "crm", entitlement: "nothing" }] })).toEqual([]);
  });

  it("keeps the where rule's text in the campaign's settings, not its evaluator", async () => {
    const where: RoleRule = { source: "true", location: LOC, reads: [], evaluate: () => ({ value: true }) };
    const started = await startCampaign(store.db, config, definition({ name: "all" }, { where }), {
      now: NOW,
      startedBy: "test",
      kind: "ad-hoc",
    });
    const stored = await reviewCampaignRepository.find(store.db, started.campaign!.id);
    expect(stored!.settings.scope.where).toEqual({ source: "true", location: LOC, reads: [] });
  });

  it("shows the last decision and drops never-reviewed once an earlier campaign decided", async () => {
    const first = await startCampaign(store.db, config, definition({ name: "first" }, { systems: ["crm"] }), {
      now: NOW,
      startedBy: "test",
      kind: "ad-hoc",
    });
    const [item] = await itemsOf(first.campaign!.id);
    expect(
      await reviewItemRepository.update(store.db, item!.id, item!.version, {
        state: "certified",
        decidedBy: p.boss!.id,
        decidedAt: NOW.toISOString(),
      }),
    ).toBe(true);
    const second = await startCampaign(
      store.db,
      config,
      definition({ name: "second" }, { systems: ["crm"] }),
      {
        now: new Date(NOW.getTime() + 86_400_000),
        startedBy: "test",
        kind: "ad-hoc",
      },
    );
    const [again] = await itemsOf(second.campaign!.id);
    expect(again!.evidence.lastReview).toEqual({
      campaignId: first.campaign!.id,
      decision: "certify",
      at: NOW.toISOString(),
    });
    expect(again!.risk.reasons.map((r) => r.code)).not.toContain("never-reviewed");
  });

  it("reviews only the identities asked for (a mover review), with peers still counted", async () => {
    const started = await startCampaign(store.db, config, definition({ name: "one" }), {
      now: NOW,
      startedBy: "lifecycle",
      kind: "mover",
      subjectIdentityId: p.ana!.id,
      identityIds: [p.ana!.id, p.leaver!.id],
    });
    const items = await itemsOf(started.campaign!.id);
    expect(new Set(items.map((i) => i.identityId))).toEqual(new Set([p.ana!.id]));
    expect(find(items, "ana", "entitlement:erp:admin")!.evidence.peers).toEqual({ total: 6, holding: 0 });
  });

  it("refuses an unknown campaign name, naming the known ones", async () => {
    await expect(
      startCampaign(store.db, config, "nope", { now: NOW, startedBy: "test", kind: "ad-hoc" }),
    ).rejects.toThrow(/no review campaign "nope"/);
  });
});
