// biome-ignore-all lint/suspicious/noTemplateCurlyInString: tenure.yaml text, where ${env:…} is a reference and {attr} a placeholder.
/**
 * An access review campaign end to end (issue 16), on SQLite and PostgreSQL, against a real OpenLDAP
 * slapd with the lastbind overlay: people from an HR CSV provisioned into two directories, some of them
 * binding (last use read back by reconcile), a membership added by hand, an access request granted; a
 * campaign generated with its risk reasons (privileged, separation of duties, unused and never used from
 * the real authTimestamp, requested, found in the target only, never reviewed), lineage, riskiest first,
 * reviewers told; a second campaign whose named reviewer holds access in scope (rerouted to their
 * manager); decisions (one certified, three revoked with a reason, the holder refused on their own item
 * with nothing written); revocations carried out by the access timer (woken at once by a decision),
 * removed in the directory and confirmed, the birthright one kept out of the next plan; the deadline
 * revoking the undecided high-risk item and keeping the rest; the auditor's report, CSV export and a
 * verified ledger; and the next campaign, without what was revoked.
 */
import { randomBytes } from "node:crypto";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { Attribute, Change, Client } from "ldapts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { queryEvents, verifyLedger } from "../../src/audit/ledger.js";
import { escapeFilterValue } from "../../src/connectors/ldap/ldap-escape.js";
import type { Identity } from "../../src/domain/identity-types.js";
import { computeProvisionPlan, connectorPool } from "../../src/engine/provision.js";
import { reconcileSystems } from "../../src/engine/reconcile.js";
import { runSync } from "../../src/engine/run-sync.js";
import { loadConfig } from "../../src/policy/config-loader.js";
import type { TenureConfig } from "../../src/policy/config-types.js";
import { assignmentRepository } from "../../src/store/assignment-repository.js";
import { identityRepository } from "../../src/store/identity-repository.js";
import { notificationRepository } from "../../src/store/notification-repository.js";
import { reviewExclusionRepository } from "../../src/store/review-exclusion-repository.js";
import { type ReviewItem, reviewItemRepository } from "../../src/store/review-repository.js";
import { sodViolationRepository } from "../../src/store/sod-repository.js";
import { startAccessTimer } from "../../src/workflows/access-timer.js";
import { decide } from "../../src/workflows/request-effects.js";
import { submitRequest } from "../../src/workflows/request-submission.js";
import { reviewTick } from "../../src/workflows/review-closing.js";
import { decideItem, type ReviewActor } from "../../src/workflows/review-decisions.js";
import { startCampaign } from "../../src/workflows/review-generation.js";
import { runReviewRemovals } from "../../src/workflows/review-removal.js";
import { campaignReport, ITEM_COLUMNS, itemRows } from "../../src/workflows/review-report.js";
import { toCsv } from "../../src/workflows/sod-reports.js";
import { storeFactories, type TestStore } from "../helpers/databases.js";
import {
  enableLastBind,
  findSlapd,
  SLAPD_INSTALL,
  type Slapd,
  SUFFIX,
  startSlapd,
} from "../helpers/slapd.js";
import { tempDir, writeHrCsv } from "../helpers/workspace.js";

const installed = (await findSlapd()) !== undefined;
if (!installed && process.env.CI === "true") {
  it("slapd is installed (required under CI=true)", () => {
    throw new Error(`slapd is not installed; install it: ${SLAPD_INSTALL}`);
  });
}

const DAY = 86_400_000;
// The directory stamps binds with the real clock; the campaign runs weeks ahead of it (`now` is a parameter).
const T0 = Date.now();
const at = (days: number, minutes = 0) => new Date(T0 + days * DAY + minutes * 60_000);
/** The campaign starts 40 days after the binds: past `unusedDays` (30). */
const START = 40;
const DEADLINE = START + 14;
const DIRECTORY_GROUPS = ["staff", "payments", "vendor-create", "ops"];
const WIKI_GROUPS = ["readers"];

// employeeId,givenName,familyName,email,department,title,managerId,employmentType,status,startDate,endDate,terminationDate
const PEOPLE = [
  "B1,Bea,Boss,bea@example.test,Board,CEO,,employee,active,2026-01-05,,",
  "M1,Mia,Manager,mia@example.test,Finance,Controller,B1,employee,active,2026-01-05,,",
  "E1,Eve,Finance,eve@example.test,Finance,Accountant,M1,employee,active,2026-01-05,,",
  "A1,Ada,Clerk,ada@example.test,Accounts Payable,Clerk,M1,employee,active,2026-01-05,,",
];

describe.skipIf(!installed).each(await storeFactories())(
  "an access review campaign on %s",
  (_kind, makeStore) => {
    let slapd: Slapd;
    let store: TestStore;
    let config: TenureConfig;
    let dir: { dir: string; dispose: () => Promise<void> };
    let bases: { people: string; groups: string; wikiPeople: string; wikiGroups: string };
    const ids: Record<string, string> = {};
    const people: Record<string, Identity> = {};
    let quarterly: string;
    let controller: string;
    let adaOps: string;
    let adaRequest: string;
    /** Items of the quarterly campaign by `HOLDER access`, e.g. `E1 directory:payments`. */
    const items = new Map<string, ReviewItem>();
    const password = (uid: string) => `pw-${uid}-${T0}`;

    const yaml = () => `
sources:
  hr: { type: csv, path: ./hr.csv }
systems:
  directory:
    connector: ldap
    drift: report
    owner: sam@example.test
    account: { username: "{givenName}.{familyName}", attributes: { email: "{email}" } }
    config:
      url: ${slapd.url}
      bindDn: "${slapd.adminDn}"
      bindPassword: "\${env:LDAP_PASSWORD}"
      users: { base: "${bases.people}", attributes: { email: mail } }
      groups: { base: "${bases.groups}" }
      lastUsedAttribute: authTimestamp
  wiki:
    connector: ldap
    drift: report
    account: { username: "{givenName}.{familyName}", attributes: { email: "{email}" } }
    config:
      url: ${slapd.url}
      bindDn: "${slapd.adminDn}"
      bindPassword: "\${env:LDAP_PASSWORD}"
      users: { base: "${bases.wikiPeople}", attributes: { email: mail } }
      groups: { base: "${bases.wikiGroups}" }
entitlements:
  directory:
    staff: {}
    payments: { displayName: Payments, privileged: true }
    vendor-create: {}
    ops: {}
  wiki:
    readers: {}
roles:
  staff:
    when: "employmentType == 'employee'"
    owner: bea@example.test
    grants:
      - { system: directory, entitlements: [staff] }
      - { system: wiki, entitlements: [readers] }
  finance:
    when: "department == 'Finance'"
    owner: bea@example.test
    grants: [{ system: directory, entitlements: [payments] }]
  ap-clerk:
    when: "department == 'Accounts Payable'"
    owner: bea@example.test
    grants: [{ system: directory, entitlements: [vendor-create] }]
  operator:
    owner: mia@example.test
    grants: [{ system: directory, entitlements: [ops] }]
    requestable:
      defaultDuration: 30d
      maxDuration: 180d
      approval: [manager]
sod:
  rules:
    vendor-payment:
      description: Can create a vendor and pay it
      severity: high
      owner: bea@example.test
      sideA: { entitlements: ["directory:vendor-create"] }
      sideB: { entitlements: ["directory:payments"] }
reviews:
  campaigns:
    quarterly:
      description: Everyone's access, by their manager
      reviewer: manager
      durationDays: 14
      remindDaysBefore: [3, 1]
      onNoResponse: { high: revoke, medium: keep, low: keep }
      risk: { unusedDays: 30 }
    controller:
      description: Privileged access, checked by the controller
      scope: { privilegedOnly: true }
      reviewer: { person: mia@example.test }
notify:
  email: { smtp: "smtp://127.0.0.1:2525", from: "Tenure <tenure@example.test>" }
`;

    beforeAll(async () => {
      slapd = await startSlapd();
      await enableLastBind(slapd);
      const label = randomBytes(4).toString("hex");
      bases = {
        people: `ou=people-${label},${SUFFIX}`,
        groups: `ou=groups-${label},${SUFFIX}`,
        wikiPeople: `ou=wiki-people-${label},${SUFFIX}`,
        wikiGroups: `ou=wiki-groups-${label},${SUFFIX}`,
      };
      const admin = await slapd.admin();
      try {
        for (const dn of Object.values(bases)) {
          await admin.add(dn, { objectClass: "organizationalUnit", ou: dn.slice(3, dn.indexOf(",")) });
        }
        for (const [base, groups] of [
          [bases.groups, DIRECTORY_GROUPS],
          [bases.wikiGroups, WIKI_GROUPS],
        ] as const) {
          for (const cn of groups) {
            await admin.add(`cn=${cn},${base}`, {
              objectClass: "groupOfNames",
              cn,
              member: `cn=placeholder,${SUFFIX}`,
            });
          }
        }
      } finally {
        await admin.unbind();
      }
      dir = await tempDir("tenure-review-campaign-");
      await writeFile(path.join(dir.dir, "tenure.yaml"), yaml());
      config = await loadConfig(path.join(dir.dir, "tenure.yaml"), {
        env: { LDAP_PASSWORD: slapd.adminPassword },
      });
      store = await makeStore();
    });
    afterAll(async () => {
      await store?.dispose();
      await slapd?.stop();
      await dir?.dispose();
    });

    const members = async (base: string, group: string): Promise<string[]> => {
      const admin = await slapd.admin();
      try {
        const { searchEntries } = await admin.search(base, { filter: `(cn=${escapeFilterValue(group)})` });
        return [searchEntries[0]?.member ?? []].flat().map(String);
      } finally {
        await admin.unbind();
      }
    };
    const isMember = async (group: string, uid: string, base = bases.groups) =>
      (await members(base, group)).some((m) => m.startsWith(`uid=${uid},`));
    const bind = async (uid: string) => {
      const client = new Client({ url: slapd.url, timeout: 5000 });
      try {
        await client.bind(`uid=${uid},${bases.people}`, password(uid));
      } finally {
        await client.unbind().catch(() => {});
      }
    };
    const reconcile = async (now: Date) => {
      const pool = connectorPool(config);
      try {
        const run = await reconcileSystems(store, config, ["directory", "wiki"], pool, {
          now: () => now,
          actor: "test",
        });
        expect(run.failed).toBe(0);
        return run;
      } finally {
        await pool.closeAll();
      }
    };
    const actor = (key: string): ReviewActor => ({
      person: people[key]!,
      asAdmin: false,
      label: `identity:${ids[key]}`,
    });
    const item = (key: string) => {
      const found = items.get(key);
      if (found === undefined) throw new Error(`no item ${key}: ${[...items.keys()].join(", ")}`);
      return found;
    };
    const reload = async (key: string) => (await reviewItemRepository.find(store.db, item(key).id))!;
    const ledger = () => queryEvents(store.db, { limit: 100_000 });
    const codes = (i: ReviewItem) => i.risk.reasons.map((r) => r.code);

    it("HR sync provisions both directories; binds, a membership added by hand and a granted request are read back by reconcile", async () => {
      await writeHrCsv(dir.dir, PEOPLE);
      const run = await runSync(store, config, { now: at(0), actor: "test" });
      expect(run.provisioned?.applied?.summary.dead).toBe(0);
      for (const key of ["B1", "M1", "E1", "A1"]) {
        const identity = (await identityRepository.listBySourceKeysOrEmails(store.db, "hr", [key], []))[0]!;
        ids[key] = identity.id;
        people[key] = identity;
      }
      expect(await isMember("payments", "mia.manager")).toBe(true);
      expect(await isMember("payments", "eve.finance")).toBe(true);
      expect(await isMember("vendor-create", "ada.clerk")).toBe(true);
      expect(await isMember("readers", "ada.clerk", bases.wikiGroups)).toBe(true);

      // Passwords set by hand, so people can bind: Bea, Mia and Eve log in; Ada never does.
      const admin = await slapd.admin();
      try {
        for (const uid of ["bea.boss", "mia.manager", "eve.finance", "ada.clerk"]) {
          await admin.modify(
            `uid=${uid},${bases.people}`,
            new Change({
              operation: "replace",
              modification: new Attribute({ type: "userPassword", values: [password(uid)] }),
            }),
          );
        }
        // Someone gives Eve vendor-create in the directory directly: with her payments, a conflict.
        await admin.modify(`cn=vendor-create,${bases.groups}`, [
          new Change({
            operation: "add",
            modification: new Attribute({ type: "member", values: [`uid=eve.finance,${bases.people}`] }),
          }),
        ]);
      } finally {
        await admin.unbind();
      }
      for (const uid of ["bea.boss", "mia.manager", "eve.finance"]) await bind(uid);

      // Ada asks for the operator role; Mia, her manager, approves: granted in the directory at once.
      const asked = await submitRequest(
        store,
        config,
        {
          requesterId: ids.A1!,
          items: [{ kind: "role", role: "operator" }],
          justification: "month-end on-call",
          durationMs: 90 * DAY,
        },
        { now: at(0, 1), actor: "test" },
      );
      const granted = await decide(
        store,
        config,
        asked.request.id,
        { kind: "approve", by: ids.M1! },
        { now: at(0, 2), actor: "test" },
      );
      expect(granted.request.state).toBe("approved");
      expect(await isMember("ops", "ada.clerk")).toBe(true);
      const [assignment] = (await assignmentRepository.list(store.db, { identityId: ids.A1! })).filter(
        (a) => a.revokedAt === null,
      );
      adaOps = assignment!.id;
      adaRequest = asked.request.id;

      const read = await reconcile(at(START));
      expect(read.sod?.opened.map((v) => [v.identityId, v.rule])).toEqual([[ids.E1, "vendor-payment"]]);
      expect(await sodViolationRepository.open(store.db, { identityIds: [ids.E1!] })).toHaveLength(1);
    });

    it("starts the campaign: one item per access with its risk reasons from the directory, lineage, riskiest first, reviewers told", async () => {
      const started = await startCampaign(store.db, config, "quarterly", {
        now: at(START),
        startedBy: "test",
        kind: "ad-hoc",
      });
      expect(started.campaign).toMatchObject({
        definition: "quarterly",
        kind: "ad-hoc",
        status: "open",
        deadline: at(DEADLINE).toISOString(),
      });
      quarterly = started.campaign!.id;
      // Bea 2, Mia 3, Eve 4 (vendor-create found in the directory), Ada 4 (ops requested).
      expect(started.items).toBe(13);
      const list = await reviewItemRepository.list(store.db, { campaignId: quarterly, limit: 100 });
      expect(list).toHaveLength(13);
      const keyOf = Object.fromEntries(Object.entries(ids).map(([k, id]) => [id, k]));
      for (const i of list) {
        const a = i.access;
        items.set(`${keyOf[i.identityId]} ${a.kind === "role" ? a.role : `${a.system}:${a.entitlement}`}`, i);
      }

      // Riskiest first: privileged and in a conflict, then found by hand in the conflict, then privileged.
      expect(list.map((i) => i.risk.score)).toEqual([85, 70, 55, 35, 25, 25, 25, 25, 25, 5, 5, 5, 5]);
      expect(list.slice(0, 4).map((i) => i.id)).toEqual(
        [
          "E1 directory:payments",
          "E1 directory:vendor-create",
          "M1 directory:payments",
          "A1 directory:ops",
        ].map((k) => item(k).id),
      );

      const evePay = item("E1 directory:payments");
      expect(evePay).toMatchObject({ source: "birthright", privileged: true, reviewerId: ids.M1 });
      expect(evePay.risk).toMatchObject({ level: "high", recommendation: "revoke" });
      expect(codes(evePay)).toEqual(["privileged", "sod-violation", "unused", "never-reviewed"]);
      expect(evePay.risk.reasons[1]!.detail).toBe(
        "part of an open separation-of-duties violation (rule vendor-payment)",
      );
      // Last use read from the directory's authTimestamp: the bind a moment ago, 40 days before `now`.
      expect(Math.abs(Date.parse(evePay.evidence.lastUsedAt!) - T0)).toBeLessThan(5 * 60_000);
      expect(evePay.risk.reasons[2]!.detail).toMatch(/^no login for (39|40) days \(last \d{4}-\d\d-\d\d\)$/);
      expect(evePay.evidence.sodRules).toEqual(["vendor-payment"]);
      expect(evePay.evidence.lineage).toEqual([expect.objectContaining({ kind: "role", role: "finance" })]);

      const eveVendor = item("E1 directory:vendor-create");
      expect(eveVendor).toMatchObject({ source: "found", assignmentId: null, reviewerId: ids.M1 });
      expect(codes(eveVendor)).toEqual(["sod-violation", "unused", "found-in-target-only", "never-reviewed"]);
      expect(eveVendor.risk.reasons[2]!.detail).toBe(
        "found in directory on account eve.finance, not granted by Tenure (added in the system directly)",
      );
      expect(eveVendor.evidence.lineage).toEqual([]);

      const miaPay = item("M1 directory:payments");
      expect(miaPay).toMatchObject({ reviewerId: ids.B1, rerouteReason: null });
      expect(codes(miaPay)).toEqual(["privileged", "unused", "never-reviewed"]);
      expect(miaPay.risk.level).toBe("high");

      const ops = item("A1 directory:ops");
      expect(ops).toMatchObject({ source: "assignment", assignmentId: adaOps, reviewerId: ids.M1 });
      // Ada never bound: her account in a directory reporting last use was never used.
      expect(codes(ops)).toEqual(["never-used", "requested", "never-reviewed"]);
      expect(ops.risk.reasons[1]!.detail).toBe(`granted by request ${adaRequest}, not by birthright`);
      expect(ops.risk.level).toBe("medium");
      expect(ops.evidence.lineage).toEqual([
        expect.objectContaining({ kind: "assignment", assignmentId: adaOps }),
      ]);

      const adaVendor = item("A1 directory:vendor-create");
      expect(adaVendor).toMatchObject({ source: "birthright", privileged: false });
      expect(codes(adaVendor)).toEqual(["never-used", "never-reviewed"]);
      expect(adaVendor.evidence.lineage).toEqual([
        expect.objectContaining({ kind: "role", role: "ap-clerk" }),
      ]);
      expect(codes(item("B1 directory:staff"))).toEqual(["unused", "never-reviewed"]);
      // The wiki's connector reports no last use: nothing is said about it, and its access is low risk.
      expect(codes(item("A1 wiki:readers"))).toEqual(["never-reviewed"]);
      expect(item("A1 wiki:readers").risk.level).toBe("low");

      // Bea has no manager: her items wait for an admin to assign a reviewer.
      expect(item("B1 directory:staff")).toMatchObject({ reviewerId: null, rerouteReason: "no-reviewer" });

      const assigned = await notificationRepository.list(store.db, { event: "review.assigned", limit: 100 });
      expect(assigned.map((n) => n.recipient).sort()).toEqual(["bea@example.test", "mia@example.test"]);
      expect(assigned.find((n) => n.recipient === "mia@example.test")?.subject).toBe(
        `Access review quarterly: 8 items to decide by ${at(DEADLINE).toISOString()}`,
      );
    });

    it("a named reviewer who holds access in scope never reviews it: it goes to their manager", async () => {
      const started = await startCampaign(store.db, config, "controller", {
        now: at(START),
        startedBy: "test",
        kind: "ad-hoc",
      });
      controller = started.campaign!.id;
      const list = await reviewItemRepository.list(store.db, { campaignId: controller, limit: 100 });
      const byHolder = new Map(list.map((i) => [i.identityId, i]));
      expect(list).toHaveLength(2);
      expect(byHolder.get(ids.E1!)).toMatchObject({ reviewerId: ids.M1, rerouteReason: null });
      expect(byHolder.get(ids.M1!)).toMatchObject({
        access: { kind: "entitlement", system: "directory", entitlement: "payments" },
        reviewerId: ids.B1,
        ruleReviewerId: ids.M1,
        rerouteReason: "self-review",
      });
      const event = (await queryEvents(store.db, { action: "review.campaign_started", limit: 10 })).at(-1);
      expect(event?.details).toMatchObject({ campaign: controller, items: 2, selfReview: 1 });
    });

    it("decisions: one certified, two revoked with a reason; a holder deciding their own item is refused and nothing changes", async () => {
      const snapshot = async () => ({
        items: await reviewItemRepository.list(store.db, { campaignId: quarterly, limit: 100 }),
        rerouted: await reviewItemRepository.list(store.db, { campaignId: controller, limit: 100 }),
        exclusions: await reviewExclusionRepository.active(store.db),
        ledger: (await ledger()).length,
      });
      const before = await snapshot();
      await expect(
        decideItem(
          store,
          config,
          { itemId: item("M1 directory:payments").id, decision: "certify", comment: "mine, fine" },
          actor("M1"),
          at(START, 60),
        ),
      ).rejects.toMatchObject({ code: "self_review", httpStatus: 403 });
      const rerouted = before.rerouted.find((i) => i.identityId === ids.M1)!;
      await expect(
        decideItem(store, config, { itemId: rerouted.id, decision: "certify" }, actor("M1"), at(START, 60)),
      ).rejects.toMatchObject({ code: "self_review" });
      // A revocation without a reason is refused too.
      await expect(
        decideItem(
          store,
          config,
          { itemId: item("E1 directory:vendor-create").id, decision: "revoke", comment: "  " },
          actor("M1"),
          at(START, 60),
        ),
      ).rejects.toMatchObject({ code: "reason_required" });
      expect(await snapshot()).toEqual(before);

      const certified = await decideItem(
        store,
        config,
        {
          itemId: item("E1 directory:payments").id,
          decision: "certify",
          comment: "pays the vendors; creating them goes",
        },
        actor("M1"),
        at(START, 61),
      );
      expect(certified).toMatchObject({
        state: "certified",
        decidedBy: ids.M1,
        decidedAt: at(START, 61).toISOString(),
        removalState: null,
      });
      const revokes: [string, string][] = [
        ["E1 directory:vendor-create", "vendor master is the AP team's job"],
        ["A1 directory:vendor-create", "moving to reconciliations, no vendor set-up"],
      ];
      for (const [n, [key, reason]] of revokes.entries()) {
        const revoked = await decideItem(
          store,
          config,
          { itemId: item(key).id, decision: "revoke", comment: reason },
          actor("M1"),
          at(START, 62 + n),
        );
        expect(revoked).toMatchObject({ state: "revoked", comment: reason, removalState: "pending" });
      }
      // Recorded only: the directory still has them until the removal runs.
      expect(await isMember("vendor-create", "eve.finance")).toBe(true);
      const actions = (await ledger()).slice(before.ledger).map((e) => [e.action, e.actor]);
      expect(actions).toEqual([
        ["review.item_certified", `identity:${ids.M1}`],
        ["review.item_revoked", `identity:${ids.M1}`],
        ["review.item_revoked", `identity:${ids.M1}`],
      ]);
    });

    it("the access timer removes revocations at their source and in the directory, confirms them, and wakes at once for a new one", async () => {
      // The timer's clock runs from 90 minutes after the start; its poll (30 s) is longer than the waits here.
      const offset = at(START, 90).getTime() - Date.now();
      const clock = () => new Date(Date.now() + offset);
      const passes: number[] = [];
      const timer = startAccessTimer({
        store,
        config,
        now: clock,
        actor: "timer",
        onPass: (p) => passes.push(p.removals.processed),
        onError: (err) => {
          throw err;
        },
      });
      /** The removal states of `keys` once all are confirmed and the timer reported `count` passes, or after 10 s. */
      const confirmed = async (keys: string[], count: number) => {
        const deadline = Date.now() + 10_000;
        for (;;) {
          const states = await Promise.all(keys.map(async (k) => (await reload(k)).removalState));
          const done = states.every((s) => s === "confirmed") && passes.length >= count;
          if (done || Date.now() > deadline) return states;
          await new Promise((r) => setTimeout(r, 50));
        }
      };
      let opsDecided: Date;
      try {
        // Its first pass carries out the two revocations already decided.
        expect(await confirmed(["E1 directory:vendor-create", "A1 directory:vendor-create"], 1)).toEqual([
          "confirmed",
          "confirmed",
        ]);
        expect(passes).toEqual([2]);
        // A revocation decided while it sleeps wakes it: removed within seconds, not at the next poll.
        opsDecided = clock();
        await decideItem(
          store,
          config,
          { itemId: item("A1 directory:ops").id, decision: "revoke", comment: "on-call rota ended" },
          actor("M1"),
          opsDecided,
        );
        expect(await confirmed(["A1 directory:ops"], 2)).toEqual(["confirmed"]);
      } finally {
        await timer.stop();
      }
      expect(passes).toEqual([2, 1]);

      expect(await isMember("vendor-create", "eve.finance")).toBe(false);
      expect(await isMember("vendor-create", "ada.clerk")).toBe(false);
      expect(await isMember("ops", "ada.clerk")).toBe(false);
      expect(await isMember("payments", "eve.finance")).toBe(true);
      expect(await isMember("staff", "ada.clerk")).toBe(true);
      for (const key of ["E1 directory:vendor-create", "A1 directory:vendor-create", "A1 directory:ops"]) {
        const done = await reload(key);
        expect(done.removalDetail).toBeTruthy();
        expect(Date.parse(done.confirmedAt!)).toBeGreaterThanOrEqual(at(START, 90).getTime());
        expect(Date.parse(done.confirmedAt!)).toBeLessThan(at(START, 91).getTime());
      }
      const ended = await assignmentRepository.find(store.db, adaOps);
      expect(Date.parse(ended!.endedAt!)).toBeGreaterThanOrEqual(opsDecided!.getTime());
      const exclusions = await reviewExclusionRepository.active(store.db, [ids.A1!]);
      expect(exclusions).toEqual([
        expect.objectContaining({
          itemId: item("A1 directory:vendor-create").id,
          target: { system: "directory", entitlement: "vendor-create" },
          campaign: "quarterly",
        }),
      ]);
      const refused = await notificationRepository.list(store.db, {
        event: "review.birthright-refused",
        limit: 10,
      });
      expect(refused.map((n) => [n.recipient, n.subject])).toEqual([
        [
          "bea@example.test",
          "Role ap-clerk granted directory:vendor-create to Ada Clerk, and a reviewer refused it",
        ],
      ]);
      // Eve's conflict ended with the membership added by hand.
      expect(await sodViolationRepository.open(store.db, { identityIds: [ids.E1!] })).toEqual([]);
      expect(
        (await queryEvents(store.db, { action: "sod.violation_closed", limit: 10 })).map((e) => [
          e.subject,
          (e.details as { reason?: string }).reason,
        ]),
      ).toEqual([[`identity:${ids.E1}`, "access ended"]]);

      // The directory read again: the next plan does not give Ada vendor-create back, nor anything else.
      await reconcile(at(START, 92));
      const plan = await computeProvisionPlan(store, config, { now: at(START, 92) });
      expect(plan.operations).toEqual([]);
      expect((await runReviewRemovals(store, config, { now: at(START, 93), actor: "test" })).processed).toBe(
        0,
      );
    });

    it("at the deadline: reminders before, then the undecided high-risk item revoked and removed, the rest kept", async () => {
      const reminded = await reviewTick(store, config, { now: at(DEADLINE - 1), actor: "scheduler" });
      // Bea and Mia, in each of the two campaigns.
      expect(reminded).toMatchObject({ reminded: 4, closed: [] });
      const open = await campaignReport(store, quarterly, at(DEADLINE - 1));
      expect(open.overdueReviewers.map((r) => [r.reviewer, r.pending])).toEqual([
        ["Mia Manager", 4],
        ["Bea Boss", 3],
        ["(nobody)", 2],
      ]);

      const closing = await reviewTick(store, config, { now: at(DEADLINE), actor: "scheduler" });
      expect([...closing.closed].sort()).toEqual([quarterly, controller].sort());
      const miaPay = await reload("M1 directory:payments");
      expect(miaPay).toMatchObject({
        state: "revoked-no-response",
        removalState: "pending",
        comment: "no response by the deadline: revoked (onNoResponse for high risk)",
      });
      for (const key of [
        "M1 directory:staff",
        "E1 directory:staff",
        "A1 wiki:readers",
        "B1 directory:staff",
      ]) {
        expect((await reload(key)).state).toBe("kept-no-response");
      }
      expect(await isMember("payments", "mia.manager")).toBe(true);

      const removed = await runReviewRemovals(store, config, { now: at(DEADLINE, 5), actor: "timer" });
      expect(removed.outcomes).toEqual([expect.objectContaining({ itemId: miaPay.id, state: "confirmed" })]);
      expect(await isMember("payments", "mia.manager")).toBe(false);
      expect(await isMember("payments", "eve.finance")).toBe(true);
      expect((await reload("M1 directory:payments")).confirmedAt).toBe(at(DEADLINE, 5).toISOString());
    });

    it("the report: completion, revocations applied and confirmed, overdue reviewers, a CSV of every item, and the ledger", async () => {
      const report = await campaignReport(store, quarterly, at(DEADLINE, 10));
      expect(report).toMatchObject({
        total: 13,
        decided: 4,
        completion: 30.8,
        byState: { certified: 1, revoked: 3, "revoked-no-response": 1, "kept-no-response": 8 },
        revocations: { pending: 0, applied: 0, confirmed: 4, failed: 0, notNeeded: 0 },
      });
      expect(report.campaign).toMatchObject({ status: "closed", closedAt: at(DEADLINE).toISOString() });
      expect(report.overdueReviewers.map((r) => [r.reviewer, r.pending])).toEqual([
        ["Mia Manager", 4],
        ["Bea Boss", 3],
        ["(nobody)", 2],
      ]);
      expect(report.reviewers).toEqual([
        expect.objectContaining({ reviewer: "Mia Manager", decided: 4, certified: 1, revoked: 3, bulk: 0 }),
      ]);

      const rows = await itemRows(store, quarterly);
      expect(rows.map((r) => r.score)).toEqual([85, 70, 55, 35, 25, 25, 25, 25, 25, 5, 5, 5, 5]);
      const csv = toCsv(rows, ITEM_COLUMNS).trim().split("\n");
      expect(csv[0]).toBe(ITEM_COLUMNS.join(","));
      expect(csv).toHaveLength(14);
      const eve = csv.find((l) => l.includes("Eve Finance") && l.includes("directory:vendor-create"))!;
      for (const part of [
        "found",
        "revoked",
        "Mia Manager",
        "vendor master is the AP team's job",
        "confirmed",
      ]) {
        expect(eve).toContain(part);
      }
      expect(csv.find((l) => l.includes("Mia Manager,directory:payments"))).toContain("revoked-no-response");

      const review = (await ledger()).filter((e) => e.action.startsWith("review."));
      const count = (action: string) => review.filter((e) => e.action === action).length;
      expect(count("review.campaign_started")).toBe(2);
      expect(count("review.item_certified")).toBe(1);
      expect(count("review.item_revoked")).toBe(3);
      expect(count("review.exclusion_recorded")).toBe(2);
      expect(count("review.removal_confirmed")).toBe(4);
      // 9 in the quarterly campaign (8 kept, 1 revoked), 2 kept in the controller's.
      expect(count("review.no_response")).toBe(11);
      expect(count("review.campaign_closed")).toBe(2);
      expect(await verifyLedger(store.db)).toMatchObject({ ok: true });
    });

    it("the next campaign leaves out what was revoked and shows the last decision on what is still held", async () => {
      const next = await startCampaign(store.db, config, "quarterly", {
        now: at(DEADLINE, 30),
        startedBy: "test",
        kind: "ad-hoc",
      });
      const list = await reviewItemRepository.list(store.db, { campaignId: next.campaign!.id, limit: 100 });
      const keyOf = Object.fromEntries(Object.entries(ids).map(([k, id]) => [id, k]));
      const byKey = new Map(
        list.map((i) => [
          `${keyOf[i.identityId]} ${i.access.kind === "role" ? i.access.role : `${i.access.system}:${i.access.entitlement}`}`,
          i,
        ]),
      );
      // Excluded (Ada's vendor-create, Mia's payments), ended (Ada's ops), removed (Eve's vendor-create).
      expect([...byKey.keys()].sort()).toEqual([
        "A1 directory:staff",
        "A1 wiki:readers",
        "B1 directory:staff",
        "B1 wiki:readers",
        "E1 directory:payments",
        "E1 directory:staff",
        "E1 wiki:readers",
        "M1 directory:staff",
        "M1 wiki:readers",
      ]);
      const evePay = byKey.get("E1 directory:payments")!;
      // The conflict is gone with the membership: privileged and unused only, reviewed before.
      expect(codes(evePay)).toEqual(["privileged", "unused"]);
      // The last review is Mia's certification in the quarterly campaign, not the controller campaign's
      // deadline keeping an item nobody looked at.
      expect(evePay.evidence.lastReview).toEqual({
        campaignId: quarterly,
        decision: "certify",
        at: at(START, 61).toISOString(),
      });
      // Kept at the deadline with nobody deciding: still never reviewed.
      expect(codes(byKey.get("E1 directory:staff")!)).toEqual(["unused", "never-reviewed"]);
    });
  },
);
