// biome-ignore-all lint/suspicious/noTemplateCurlyInString: tenure.yaml text, where ${env:…} is a reference.
/**
 * Revocations decided in access reviews, end to end on SQLite and PostgreSQL against a real OpenLDAP
 * slapd: an assignment ended (gone from the directory, confirmed), birthright refused (an exclusion the
 * next plan honours, explained, the role owner told), a membership added in the directory by hand
 * removed there, access already gone (not needed), an identity that left, a target that fails (failed,
 * visible, retried, the system owner told, then confirmed), and a rehire that starts clean.
 */
import { randomBytes } from "node:crypto";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { Attribute, Change } from "ldapts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { describeEvent } from "../../src/audit/event-summary.js";
import { queryEvents } from "../../src/audit/ledger.js";
import { escapeFilterValue } from "../../src/connectors/ldap/ldap-escape.js";
import type { ReviewDefinition, ReviewItemState, ReviewSource } from "../../src/domain/review-types.js";
import { explainIdentity } from "../../src/engine/access-queries.js";
import { provisionIdentities } from "../../src/engine/identity-provision.js";
import { ingestRecords } from "../../src/engine/ingest.js";
import { computeProvisionPlan, connectorPool } from "../../src/engine/provision.js";
import { reconcileSystems } from "../../src/engine/reconcile.js";
import { loadConfig } from "../../src/policy/config-loader.js";
import type { TenureConfig } from "../../src/policy/config-types.js";
import { assignmentRepository } from "../../src/store/assignment-repository.js";
import { identityRepository } from "../../src/store/identity-repository.js";
import { notificationRepository } from "../../src/store/notification-repository.js";
import { operationRepository } from "../../src/store/operation-repository.js";
import { reviewExclusionRepository } from "../../src/store/review-exclusion-repository.js";
import { reviewCampaignRepository, reviewItemRepository } from "../../src/store/review-repository.js";
import { runReviewRemovals } from "../../src/workflows/review-removal.js";
import { storeFactories, type TestStore } from "../helpers/databases.js";
import { freePort } from "../helpers/net.js";
import { testReviewItem } from "../helpers/review-item.js";
import { findSlapd, SLAPD_INSTALL, type Slapd, SUFFIX, startSlapd } from "../helpers/slapd.js";
import { tempDir } from "../helpers/workspace.js";

const installed = (await findSlapd()) !== undefined;
if (!installed && process.env.CI === "true") {
  it("slapd is installed (required under CI=true)", () => {
    throw new Error(`slapd is not installed; install it: ${SLAPD_INSTALL}`);
  });
}
const T0 = Date.parse("2026-12-04T09:00:00Z");
const at = (minutes: number) => new Date(T0 + minutes * 60_000);
const GROUPS = ["staff", "wiki-edit", "ops", "vendor"];

describe.skipIf(!installed).each(await storeFactories())("review revocations on %s", (_kind, makeStore) => {
  let slapd: Slapd;
  let store: TestStore;
  let config: TenureConfig;
  let dead: TenureConfig;
  let groupsBase: string;
  let people: string;
  let dir: { dir: string; dispose: () => Promise<void> };
  const ids: Record<string, string> = {};
  let campaignId: string;
  let itemSeq = 0;

  const yaml = (url: string) => `
sources:
  hr: { type: push }
systems:
  directory:
    connector: ldap
    drift: report
    owner: sam@example.test
    retry: { maxAttempts: 10, baseDelaySeconds: 1, maxDelaySeconds: 60 }
    account: { username: "{givenName}.{familyName}", attributes: { email: "{email}" } }
    config:
      url: ${url}
      bindDn: "${slapd.adminDn}"
      bindPassword: "\${env:LDAP_PASSWORD}"
      users: { base: "${people}", attributes: { email: mail } }
      groups: { base: "${groupsBase}" }
entitlements:
  directory:
${GROUPS.map((g) => `    ${g}: {}`).join("\n")}
roles:
  staff:
    when: "employmentType == 'employee'"
    grants: [{ system: directory, entitlements: [staff] }]
  engineer:
    when: "department == 'Engineering'"
    owner: olga@example.test
    grants: [{ system: directory, entitlements: [wiki-edit] }]
  operator:
    grants: [{ system: directory, entitlements: [ops] }]
notify:
  email: { smtp: "smtp://127.0.0.1:2525", from: "Tenure <tenure@example.test>" }
`;

  const load = async (name: string, text: string) => {
    await writeFile(path.join(dir.dir, name), text);
    return loadConfig(path.join(dir.dir, name), { env: { LDAP_PASSWORD: slapd.adminPassword } });
  };

  beforeAll(async () => {
    slapd = await startSlapd();
    const label = randomBytes(4).toString("hex");
    people = `ou=people-${label},${SUFFIX}`;
    groupsBase = `ou=groups-${label},${SUFFIX}`;
    const admin = await slapd.admin();
    try {
      for (const dn of [people, groupsBase]) {
        await admin.add(dn, { objectClass: "organizationalUnit", ou: dn.slice(3, dn.indexOf(",")) });
      }
      for (const cn of GROUPS) {
        await admin.add(`cn=${cn},${groupsBase}`, {
          objectClass: "groupOfNames",
          cn,
          member: `cn=placeholder,${SUFFIX}`,
        });
      }
    } finally {
      await admin.unbind();
    }
    dir = await tempDir("tenure-review-removal-");
    config = await load("tenure.yaml", yaml(slapd.url));
    // The same directory at a port nobody listens on: every read and write fails.
    dead = await load("dead.yaml", yaml(`ldap://127.0.0.1:${await freePort()}`));
    store = await makeStore();
    const person = (key: string, given: string, family: string, department: string) => ({
      employeeId: key,
      givenName: given,
      familyName: family,
      email: `${given.toLowerCase()}@example.test`,
      employmentType: "employee",
      department,
      managerId: key === "M1" ? null : "M1",
      startDate: "2026-01-05",
    });
    const pushed = await ingestRecords(store, config, {
      source: "hr",
      rows: [
        person("M1", "Mia", "Manager", "Board"),
        person("O1", "Olga", "Owner", "Engineering"),
        person("A1", "Ada", "Engineer", "Engineering"),
        person("E1", "Eve", "Sales", "Sales"),
        person("F1", "Fay", "Flaky", "Engineering"),
        person("L1", "Leo", "Leaver", "Engineering"),
        person("R1", "Rex", "Rehire", "Engineering"),
      ],
      attributeNames: true,
      actor: "test",
      now: at(-60),
    });
    for (const r of pushed.results) ids[r.key!] = r.identityId!;
    campaignId = `c-${label}`;
    await reviewCampaignRepository.insert(store.db, {
      id: campaignId,
      definition: "q4-access",
      kind: "ad-hoc",
      status: "open",
      settings: { name: "q4-access" } as unknown as ReviewDefinition,
      subjectIdentityId: null,
      startedAt: at(-30).toISOString(),
      startedBy: "test",
      deadline: at(14 * 24 * 60).toISOString(),
      closedAt: null,
      closedBy: null,
      items: 0,
    });
  });
  afterAll(async () => {
    await store?.dispose();
    await slapd?.stop();
    await dir?.dispose();
  });

  const members = async (group: string): Promise<string[]> => {
    const admin = await slapd.admin();
    try {
      const { searchEntries } = await admin.search(groupsBase, {
        filter: `(cn=${escapeFilterValue(group)})`,
      });
      return [searchEntries[0]?.member ?? []].flat().map(String);
    } finally {
      await admin.unbind();
    }
  };
  const isMember = async (group: string, uid: string) =>
    (await members(group)).some((m) => m.startsWith(`uid=${uid},`));
  const addByHand = async (group: string, uid: string) => {
    const admin = await slapd.admin();
    try {
      await admin.modify(`cn=${group},${groupsBase}`, [
        new Change({
          operation: "add",
          modification: new Attribute({ type: "member", values: [`uid=${uid},${people}`] }),
        }),
      ]);
    } finally {
      await admin.unbind();
    }
  };
  const reconcile = (now: Date) =>
    reconcileSystems(store, config, ["directory"], connectorPool(config), { now: () => now, actor: "test" });

  /** A revoked item, as the decisions code leaves it: state revoked, a reason, removal pending. */
  const revoked = async (
    who: string,
    access: { role: string } | { entitlement: string },
    source: ReviewSource,
    options: { assignmentId?: string; minute: number; state?: ReviewItemState },
  ): Promise<string> => {
    const id = `item-${++itemSeq}-${randomBytes(3).toString("hex")}`;
    const item = testReviewItem({
      id,
      campaignId,
      identityId: ids[who]!,
      access:
        "role" in access
          ? { kind: "role", role: access.role }
          : { kind: "entitlement", system: "directory", entitlement: access.entitlement },
      accessKey: "role" in access ? `role:${access.role}` : `entitlement:directory:${access.entitlement}`,
      source,
      assignmentId: options.assignmentId ?? null,
      risk: { score: 40, level: "medium", reasons: [], recommendation: "revoke" },
      reviewerId: ids.M1!,
      createdAt: at(-30).toISOString(),
    });
    await reviewItemRepository.insertMany(store.db, [item]);
    const decided = await reviewItemRepository.update(store.db, id, 0, {
      state: options.state ?? "revoked",
      decidedBy: ids.M1!,
      decidedAt: at(options.minute).toISOString(),
      comment: "no longer needed in this team",
      removalState: "pending",
    });
    expect(decided).toBe(true);
    return id;
  };
  const item = async (id: string) => (await reviewItemRepository.find(store.db, id))!;
  const run = (minute: number, cfg = config) =>
    runReviewRemovals(store, cfg, { now: at(minute), actor: "test", random: () => 1 });
  const events = async (action: string) =>
    (await queryEvents(store.db, { action, limit: 100_000 })).map(
      (e) => e.details as Record<string, unknown>,
    );

  it("ends a revoked assignment: gone from the directory, confirmed with the time", async () => {
    await assignmentRepository.insert(
      store.db,
      {
        id: `asg-${campaignId}`,
        identityId: ids.A1!,
        target: { role: "operator" },
        employment: 1,
        validFrom: at(-20).toISOString(),
        validUntil: null,
        reason: "on call",
        approvedBy: ids.M1!,
        revokedAt: null,
      },
      at(-20).toISOString(),
    );
    await provisionIdentities(store, config, [ids.A1!], { now: at(-19), actor: "test", run: "grant" });
    expect(await isMember("ops", "ada.engineer")).toBe(true);

    const id = await revoked("A1", { role: "operator" }, "assignment", {
      assignmentId: `asg-${campaignId}`,
      minute: 0,
    });
    const summary = await run(1);
    expect(summary.outcomes).toEqual([expect.objectContaining({ itemId: id, state: "confirmed" })]);
    expect(await isMember("ops", "ada.engineer")).toBe(false);
    expect(await item(id)).toMatchObject({
      removalState: "confirmed",
      confirmedAt: at(1).toISOString(),
      removalDetail: expect.stringContaining("directory:ops gone"),
    });
    const assignment = await assignmentRepository.find(store.db, `asg-${campaignId}`);
    expect(assignment?.endedAt).toBe(at(1).toISOString());
    const revokedEvents = await events("assignment.revoked");
    expect(revokedEvents.at(-1)).toMatchObject({ review: { item: id, campaign: "q4-access" } });
    expect((await events("review.removal_confirmed")).map((d) => d.item)).toContain(id);
    // Nothing left to do: a second pass finds nothing due.
    expect((await run(2)).processed).toBe(0);
  });

  it("refuses birthright with an exclusion: removed, never re-added by the next plan, explained, the role owner told", async () => {
    expect(await isMember("wiki-edit", "ada.engineer")).toBe(true);
    const id = await revoked("A1", { entitlement: "wiki-edit" }, "birthright", { minute: 10 });
    const summary = await run(11);
    expect(summary.outcomes).toEqual([expect.objectContaining({ itemId: id, state: "confirmed" })]);
    expect(await isMember("wiki-edit", "ada.engineer")).toBe(false);
    expect(await isMember("staff", "ada.engineer")).toBe(true);

    const [exclusion] = (await reviewExclusionRepository.active(store.db, [ids.A1!])).filter(
      (e) => e.itemId === id,
    );
    expect(exclusion).toMatchObject({
      employment: 1,
      target: { system: "directory", entitlement: "wiki-edit" },
      campaignId,
      campaign: "q4-access",
      createdBy: ids.M1,
    });
    const plan = await computeProvisionPlan(store, config, { now: at(12) });
    expect(plan.operations.filter((o) => o.identityId === ids.A1)).toEqual([]);

    const ada = (await identityRepository.findById(store.db, ids.A1!))!;
    const explained = await explainIdentity(store, config, ada, at(12), {
      entitlement: "directory:wiki-edit",
    });
    expect(explained.lines).toContain(
      `directory:wiki-edit is withheld: excluded by review item ${id} in campaign q4-access`,
    );

    const told = await notificationRepository.list(store.db, {
      event: "review.birthright-refused",
      limit: 100,
    });
    expect(told.map((n) => n.recipient)).toContain("olga@example.test");
    expect(told.find((n) => n.recipient === "olga@example.test")?.subject).toBe(
      "Role engineer granted directory:wiki-edit to Ada Engineer, and a reviewer refused it",
    );
    expect((await events("review.exclusion_recorded")).map((d) => d.item)).toContain(id);

    // Someone puts it back by hand: reconcile sees it, and the plan takes it away again (withheld).
    await addByHand("wiki-edit", "ada.engineer");
    await reconcile(at(13));
    const again = await computeProvisionPlan(store, config, { now: at(13) });
    expect(
      again.operations.filter((o) => o.identityId === ids.A1).map((o) => [o.kind, o.entitlement, o.reason]),
    ).toEqual([
      [
        "revoke",
        "wiki-edit",
        `Revoke directory:wiki-edit: excluded by review item ${id} in campaign q4-access.`,
      ],
    ]);
    await provisionIdentities(store, config, [ids.A1!], { now: at(14), actor: "test", run: "test" });
    expect(await isMember("wiki-edit", "ada.engineer")).toBe(false);

    // Lifted, the rule gives it again.
    expect(await reviewExclusionRepository.lift(store.db, exclusion!.id, at(15).toISOString(), "test")).toBe(
      true,
    );
    const lifted = await computeProvisionPlan(store, config, { now: at(15) });
    expect(
      lifted.operations.filter((o) => o.identityId === ids.A1).map((o) => [o.kind, o.entitlement]),
    ).toEqual([["grant", "wiki-edit"]]);
    await provisionIdentities(store, config, [ids.A1!], { now: at(16), actor: "test", run: "test" });
    expect(await isMember("wiki-edit", "ada.engineer")).toBe(true);
  });

  it("removes a membership added in the directory by hand through a revoke operation naming the review", async () => {
    await addByHand("vendor", "eve.sales");
    await reconcile(at(20));
    const id = await revoked("E1", { entitlement: "vendor" }, "found", { minute: 21 });
    const summary = await run(22);
    expect(summary.outcomes).toEqual([expect.objectContaining({ itemId: id, state: "confirmed" })]);
    expect(await isMember("vendor", "eve.sales")).toBe(false);
    expect((await item(id)).confirmedAt).toBe(at(22).toISOString());
    const ops = await operationRepository.list(store.db, { identityId: ids.E1!, limit: 1000 });
    const op = ops.find((o) => o.kind === "revoke" && o.entitlement === "vendor");
    expect(op).toMatchObject({
      state: "succeeded",
      reason: expect.stringContaining(`revoked in access review q4-access (item ${id})`),
      lineage: [expect.objectContaining({ kind: "lifecycle", review: { itemId: id, campaignId } })],
    });
  });

  it("calls a revocation of access already gone not needed, as for an identity that left", async () => {
    const gone = await revoked("E1", { entitlement: "ops" }, "found", { minute: 30 });
    const leo = (await identityRepository.findById(store.db, ids.L1!))!;
    const left = await revoked("L1", { entitlement: "wiki-edit" }, "birthright", { minute: 30 });
    await identityRepository.upsertMany(store.db, [
      { ...leo, state: "terminated", stateSince: at(29).toISOString() },
    ]);
    const summary = await run(31);
    expect(summary.notNeeded).toBe(2);
    expect(await item(gone)).toMatchObject({
      removalState: "not-needed",
      removalDetail: "already removed from directory",
    });
    expect(await item(left)).toMatchObject({
      removalState: "not-needed",
      removalDetail: expect.stringContaining("the identity left (terminated"),
    });
    expect(await reviewExclusionRepository.active(store.db, [ids.L1!])).toEqual([]);
    expect((await events("review.removal_not_needed")).map((d) => d.item)).toEqual(
      expect.arrayContaining([gone, left]),
    );
  });

  it("a failing target: failed and visible, retried with backoff, the system owner told, then confirmed", async () => {
    expect(await isMember("wiki-edit", "fay.flaky")).toBe(true);
    const id = await revoked("F1", { entitlement: "wiki-edit" }, "birthright", { minute: 40 });
    const first = await run(41, dead);
    expect(first.outcomes).toEqual([expect.objectContaining({ itemId: id, state: "failed" })]);
    const failed = await item(id);
    expect(failed).toMatchObject({ removalState: "failed", removalAttempts: 1, confirmedAt: null });
    expect(failed.removalDetail).toMatch(/directory/);
    // Backoff with the system's retry (1 s base, jitter pinned to its ceiling): due again a second later.
    expect(failed.removalNextAt).toBe(new Date(at(41).getTime() + 1000).toISOString());
    expect((await run(41, dead)).processed).toBe(0);
    await run(42, dead);
    await run(43, dead);
    expect(await item(id)).toMatchObject({ removalState: "failed", removalAttempts: 3 });
    const told = await notificationRepository.list(store.db, {
      event: "review.revocation-failed",
      limit: 100,
    });
    expect(told.map((n) => n.recipient)).toEqual(["sam@example.test"]);
    expect((await events("review.removal_failed")).filter((d) => d.item === id)).toHaveLength(3);
    const [lastFailure] = (
      await queryEvents(store.db, { action: "review.removal_failed", limit: 100_000 })
    ).slice(-1);
    expect(describeEvent(lastFailure!)).toMatch(
      /^revocation of directory:wiki-edit from review q4-access failed \(attempt 3\), retried at /,
    );
    expect(await isMember("wiki-edit", "fay.flaky")).toBe(true);

    // The directory answers again: the retry removes it and confirms.
    const retried = await run(120);
    expect(retried.outcomes).toEqual([expect.objectContaining({ itemId: id, state: "confirmed" })]);
    expect(await isMember("wiki-edit", "fay.flaky")).toBe(false);
    expect(await item(id)).toMatchObject({ removalState: "confirmed", confirmedAt: at(120).toISOString() });
  });

  it("a rehire starts clean: the exclusion of the earlier employment does not count", async () => {
    const id = await revoked("R1", { entitlement: "wiki-edit" }, "birthright", { minute: 50 });
    await run(51);
    expect(await isMember("wiki-edit", "rex.rehire")).toBe(false);
    const rex = (await identityRepository.findById(store.db, ids.R1!))!;
    const same = await computeProvisionPlan(store, config, { now: at(52) });
    expect(same.operations.filter((o) => o.identityId === rex.id)).toEqual([]);
    const rehired = await computeProvisionPlan(store, config, {
      now: at(52),
      overrides: [{ ...rex, employment: rex.employment + 1 }],
    });
    expect(
      rehired.operations.filter((o) => o.identityId === rex.id).map((o) => [o.kind, o.entitlement]),
    ).toEqual([["grant", "wiki-edit"]]);
    expect((await item(id)).removalState).toBe("confirmed");
  });

  it("refuses access both a rule and a request give: the exclusion and the end of the assignment, confirmed only when gone", async () => {
    // Olga holds wiki-edit by her role, and by a request too.
    await assignmentRepository.insert(
      store.db,
      {
        id: `asg-both-${campaignId}`,
        identityId: ids.O1!,
        target: { system: "directory", entitlement: "wiki-edit" },
        employment: 1,
        validFrom: at(40).toISOString(),
        validUntil: null,
        reason: "documentation sprint",
        approvedBy: ids.M1!,
        revokedAt: null,
      },
      at(40).toISOString(),
    );
    await provisionIdentities(store, config, [ids.O1!], { now: at(60), actor: "test", run: "grant" });
    expect(await isMember("wiki-edit", "olga.owner")).toBe(true);
    const id = await revoked("O1", { entitlement: "wiki-edit" }, "birthright", {
      assignmentId: `asg-both-${campaignId}`,
      minute: 61,
    });
    const summary = await run(62);
    expect(summary.outcomes).toEqual([expect.objectContaining({ itemId: id, state: "confirmed" })]);
    expect(await isMember("wiki-edit", "olga.owner")).toBe(false);
    expect((await assignmentRepository.find(store.db, `asg-both-${campaignId}`))?.revokedAt).not.toBeNull();
    const plan = await computeProvisionPlan(store, config, { now: at(63) });
    expect(plan.operations.filter((o) => o.identityId === ids.O1)).toEqual([]);
  });
});
