/**
 * A campaign written from the writer thread (a SQLite store in a file, store/large-write-transaction.ts)
 * is the campaign written in line: the same items with the same risk, reviewers and evidence, the same
 * event and notifications. Two starts of one definition at once end in one campaign: the other is
 * refused as `campaign_open` (SQLite's unique violation carried back from the thread) and leaves no
 * pack, event or notification behind.
 */
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { reviewDefinition } from "../../test/helpers/review-definition.js";
import { testPerson } from "../../test/helpers/test-person.js";
import { tempDir } from "../../test/helpers/workspace.js";
import { queryEvents } from "../audit/ledger.js";
import type { Account, Assignment } from "../domain/access-types.js";
import type { Identity } from "../domain/identity-types.js";
import { loadConfig } from "../policy/config-loader.js";
import type { TenureConfig } from "../policy/config-types.js";
import { accountRepository } from "../store/account-repository.js";
import { assignmentRepository } from "../store/assignment-repository.js";
import { openStore, type Store } from "../store/database.js";
import { identityRepository } from "../store/identity-repository.js";
import { type ReviewItem, reviewItemRepository } from "../store/review-repository.js";
import { ReviewRefusedError } from "./review-decisions.js";
import { startCampaign } from "./review-generation.js";

const NOW = new Date("2026-12-04T09:00:00Z");
const YAML = `
sources:
  hr: { type: push, key: employeeId, timeZone: UTC }
systems:
  erp: { connector: manual, account: { username: "{employeeId}" }, config: { fulfiller: ops@example.test } }
entitlements:
  erp:
    read: {}
    admin: { privileged: true }
    payments: {}
roles:
  staff:
    when: "employeeId != ''"
    grants: [{ system: erp, entitlements: [read] }]
notify:
  email: { smtp: "smtp://127.0.0.1:2525", from: "Tenure <tenure@example.test>" }
`;

function person(n: number): Identity {
  // Ten managers (p0 … p9, managed by p0, who manages themself: their items go nowhere); a peer group
  // is a department and a title.
  const p = testPerson(`p${n}`, {
    department: n % 2 === 0 ? "Finance" : "Sales",
    manager: n < 10 ? "p0" : `p${n % 10}`,
  });
  return { ...p, attributes: { ...p.attributes, title: "Clerk" } };
}

/** What an item is, without the campaign it belongs to. */
const shape = (i: ReviewItem) => ({ ...i, id: i.id.split(".").slice(1).join("."), campaignId: "" });

describe("a campaign written from the writer thread (SQLite in a file)", () => {
  let dir: { dir: string; dispose: () => Promise<void> };
  let store: Store;
  let config: TenureConfig;

  beforeAll(async () => {
    dir = await tempDir();
    await writeFile(path.join(dir.dir, "tenure.yaml"), YAML);
    config = await loadConfig(path.join(dir.dir, "tenure.yaml"), { env: {} });
    store = await openStore(`sqlite:${path.join(dir.dir, "t.db")}`);
    const people = Array.from({ length: 60 }, (_, n) => person(n));
    await identityRepository.upsertMany(store.db, people);
    for (const p of people) {
      const n = Number(p.sourceKey.slice(1));
      const target = { system: "erp", entitlement: n % 7 === 0 ? "admin" : "payments" };
      const assignment: Assignment = {
        id: `as-${n}`,
        identityId: p.id,
        target,
        employment: 1,
        validFrom: "2026-11-01T00:00:00.000Z",
        validUntil: null,
        reason: "test",
        approvedBy: "p0",
        revokedAt: null,
        requestId: n % 3 === 0 ? `req-${n}` : null,
      };
      await assignmentRepository.insert(store.db, assignment, NOW.toISOString());
    }
    const accounts: Account[] = people.map((p, n) => ({
      system: "erp",
      nativeId: null,
      username: p.sourceKey,
      identityId: p.id,
      enabled: true,
      attributes: {},
      entitlements: ["read", n % 7 === 0 ? "admin" : "payments", ...(n % 11 === 0 ? ["extra"] : [])],
      managedEntitlements: ["read", n % 7 === 0 ? "admin" : "payments"],
      managed: true,
      lastSeenAt: NOW.toISOString(),
      lastUsedAt: n % 5 === 0 ? null : "2026-07-01T00:00:00.000Z",
    }));
    await accountRepository.upsertMany(store.db, accounts, NOW.toISOString());
  });
  afterAll(async () => {
    await store.close();
    await dir.dispose();
  });

  it("writes the same items, event and notifications as the transaction in line", async () => {
    const started = async (name: string, writerThreadRows: number) => {
      const s = await startCampaign(store.db, config, reviewDefinition({ name }), {
        now: NOW,
        startedBy: "token:admin",
        kind: "ad-hoc",
        writerThreadRows,
      });
      const id = s.campaign!.id;
      const items = await reviewItemRepository.list(store.db, { campaignId: id, limit: 10_000 });
      const [event] = await queryEvents(store.db, { subject: `campaign:${id}` });
      const { rows } = await sql<{ n: number }>`
        select count(*) as n from notifications where payload like ${`%${id}%`}`.execute(store.db);
      return { s, items, event, notices: Number(rows[0]!.n) };
    };
    const inThread = await started("threaded", 0);
    const inLine = await started("in-line", 1_000_000);
    // 60 birthright reads, 60 assignments, 6 entitlements added in the target directly.
    expect(inThread.s.items).toBe(126);
    expect(inThread.items.map(shape)).toEqual(inLine.items.map(shape));
    // The reasons are there to compare: privileged, never used, rare among peers, requested.
    expect(new Set(inThread.items.flatMap((i) => i.risk.reasons.map((r) => r.code)))).toEqual(
      new Set([
        "privileged",
        "never-used",
        "unused",
        "rare-among-peers",
        "requested",
        "never-reviewed",
        "found-in-target-only",
      ]),
    );
    expect({ ...inThread.event!.details, campaign: "", definition: "" }).toEqual({
      ...inLine.event!.details,
      campaign: "",
      definition: "",
    });
    expect(inThread.notices).toBe(10);
    expect(inLine.notices).toBe(10);
  });

  it("starts one campaign of two started at once; the other is refused and leaves nothing", async () => {
    const count = async (table: string) =>
      Number(
        (await sql<{ n: number }>`select count(*) as n from ${sql.table(table)}`.execute(store.db)).rows[0]!
          .n,
      );
    const before = await Promise.all(["review_item_packs", "audit_events", "notifications"].map(count));
    const start = () =>
      startCampaign(store.db, config, reviewDefinition({ name: "twice" }), {
        now: NOW,
        startedBy: "token:admin",
        kind: "ad-hoc",
        writerThreadRows: 0,
      });
    const results = await Promise.allSettled([start(), start()]);
    const won = results.filter((r) => r.status === "fulfilled");
    const lost = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
    expect([won.length, lost.length]).toEqual([1, 1]);
    expect(lost[0]!.reason).toBeInstanceOf(ReviewRefusedError);
    expect((lost[0]!.reason as ReviewRefusedError).code).toBe("campaign_open");
    const after = await Promise.all(["review_item_packs", "audit_events", "notifications"].map(count));
    // One campaign's packs (one per holder and reviewer), one event, its notices: the loser wrote none.
    const packs = await count("review_item_packs");
    expect(after).toEqual([packs, before[1]! + 1, before[2]! + 10]);
    expect(packs - before[0]!).toBe(60);
  });
});
