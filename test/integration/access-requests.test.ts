// biome-ignore-all lint/suspicious/noTemplateCurlyInString: tenure.yaml text, where ${env:…} is a reference and {attr} a placeholder.
/**
 * Access requests end to end, on SQLite and PostgreSQL, against a real OpenLDAP slapd: a request, its
 * two approval steps, the group membership provisioned in the directory, the end of the window, and the
 * revocation read back from the directory (the receipt). Every refusal of the issue, each changing
 * nothing in the store or the ledger; auto-approved elevation within its quota; a process down at the
 * end of a window revoking when it starts.
 */
import { randomBytes } from "node:crypto";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { queryEvents } from "../../src/audit/ledger.js";
import { escapeFilterValue } from "../../src/connectors/ldap/ldap-escape.js";
import { ingestRecords } from "../../src/engine/ingest.js";
import { loadConfig } from "../../src/policy/config-loader.js";
import type { TenureConfig } from "../../src/policy/config-types.js";
import { accessRequestRepository } from "../../src/store/access-request-repository.js";
import { assignmentRepository } from "../../src/store/assignment-repository.js";
import { identityRepository } from "../../src/store/identity-repository.js";
import { startAccessTimer } from "../../src/workflows/access-timer.js";
import { endDueAssignments } from "../../src/workflows/assignment-ends.js";
import { createDelegation, waitingFor } from "../../src/workflows/delegations.js";
import { decide } from "../../src/workflows/request-effects.js";
import { remindApprovers } from "../../src/workflows/request-reminders.js";
import { revokeRequestAccess } from "../../src/workflows/request-revocation.js";
import { submitRequest } from "../../src/workflows/request-submission.js";
import { storeFactories, type TestStore } from "../helpers/databases.js";
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
const HOUR = 60;

describe.skipIf(!installed).each(await storeFactories())("access requests on %s", (_kind, makeStore) => {
  let slapd: Slapd;
  let store: TestStore;
  let config: TenureConfig;
  let groupsBase: string;
  let dir: { dir: string; dispose: () => Promise<void> };
  const ids: Record<string, string> = {};

  const yaml = (withDbAdmin: boolean, people: string) => `
sources:
  hr: { type: push }
systems:
  directory:
    connector: ldap
    owner: olga@example.test
    account: { username: "{givenName}.{familyName}", attributes: { email: "{email}" } }
    config:
      url: ${slapd.url}
      bindDn: "${slapd.adminDn}"
      bindPassword: "\${env:LDAP_PASSWORD}"
      users: { base: "${people}", attributes: { email: mail } }
      groups: { base: "${groupsBase}" }
entitlements:
  directory:
    staff: {}
    db-admins: { privileged: true }
    prod-admins: { privileged: true }
roles:
  staff:
    when: "employmentType == 'employee'"
    grants: [{ system: directory, entitlements: [staff] }]
${
  withDbAdmin
    ? `  db-admin:
    owner: olga@example.test
    grants: [{ system: directory, entitlements: [db-admins] }]
    requestable:
      eligible: "department == 'Engineering'"
      defaultDuration: 2h
      maxDuration: 8h
      approval: [manager, owner]`
    : ""
}
  prod-admin:
    owner: olga@example.test
    elevation: true
    grants: [{ system: directory, entitlements: [prod-admins] }]
    requestable:
      maxDuration: 4h
      approval: [owner]
      autoApprove:
        when: "ticket.matches('^INC-[0-9]+$')"
        quota: { max: 1, per: 1d }
`;

  beforeAll(async () => {
    slapd = await startSlapd();
    const label = randomBytes(4).toString("hex");
    const people = `ou=people-${label},${SUFFIX}`;
    groupsBase = `ou=groups-${label},${SUFFIX}`;
    const admin = await slapd.admin();
    try {
      for (const dn of [people, groupsBase]) {
        await admin.add(dn, { objectClass: "organizationalUnit", ou: dn.slice(3, dn.indexOf(",")) });
      }
      for (const cn of ["staff", "db-admins", "prod-admins"]) {
        await admin.add(`cn=${cn},${groupsBase}`, {
          objectClass: "groupOfNames",
          cn,
          member: `cn=placeholder,${SUFFIX}`,
        });
      }
    } finally {
      await admin.unbind();
    }
    dir = await tempDir("tenure-requests-");
    await writeFile(path.join(dir.dir, "tenure.yaml"), yaml(true, people));
    config = await loadConfig(path.join(dir.dir, "tenure.yaml"), {
      env: { LDAP_PASSWORD: slapd.adminPassword },
    });
    store = await makeStore();
    const person = (key: string, given: string, family: string, extra: Record<string, string>) => ({
      employeeId: key,
      givenName: given,
      familyName: family,
      email: `${given.toLowerCase()}@example.test`,
      employmentType: "employee",
      department: "Engineering",
      startDate: "2026-01-05",
      ...extra,
    });
    const pushed = await ingestRecords(store, config, {
      source: "hr",
      rows: [
        person("B1", "Bea", "Boss", {}),
        person("X1", "Xavi", "Selfmanaged", { managerId: "X1" }),
        person("M1", "Mia", "Manager", { managerId: "B1" }),
        person("E1", "Ada", "Lovelace", { managerId: "M1" }),
        person("O1", "Olga", "Owner", { department: "Platform" }),
        person("S1", "Sam", "Sales", { department: "Sales", managerId: "M1" }),
        person("T1", "Tom", "Gone", { managerId: "M1", status: "terminated", terminationDate: "2026-12-01" }),
      ],
      attributeNames: true,
      actor: "test",
      now: at(-HOUR),
    });
    for (const r of pushed.results) ids[r.key!] = r.identityId!;
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
  /** Everything a refusal must leave as it was: requests, assignments, the ledger. */
  const snapshot = async () => ({
    requests: await accessRequestRepository.list(store.db, { limit: 1000 }),
    assignments: await assignmentRepository.list(store.db),
    ledger: (await queryEvents(store.db, { limit: 100_000 })).length,
  });
  const ask = (minute: number, input: Partial<Parameters<typeof submitRequest>[2]> = {}) =>
    submitRequest(
      store,
      config,
      {
        requesterId: ids.E1!,
        items: [{ kind: "role", role: "db-admin" }],
        justification: "migrating the billing schema",
        durationMs: 2 * 3_600_000,
        ...input,
      },
      { now: at(minute), actor: "test" },
    );

  it("request → manager → owner → granted in the directory → window ends → revoked, read back", async () => {
    expect(await isMember("staff", "ada.lovelace")).toBe(true);
    const submitted = await ask(0);
    expect(submitted.request).toMatchObject({ state: "pending", currentStep: 0 });
    expect(submitted.request.steps).toEqual([
      { name: "manager", approvers: [ids.M1], required: 1 },
      { name: "owner of role db-admin", approvers: [ids.O1], required: 1 },
    ]);
    const id = submitted.request.id;

    // The beneficiary never approves their own request.
    const before = await snapshot();
    await expect(
      decide(store, config, id, { kind: "approve", by: ids.E1! }, { now: at(1), actor: "test" }),
    ).rejects.toMatchObject({
      code: "self_approval",
    });
    // The owner may not decide the manager's step.
    await expect(
      decide(store, config, id, { kind: "approve", by: ids.O1! }, { now: at(1), actor: "test" }),
    ).rejects.toMatchObject({
      code: "not_an_approver",
    });
    expect(await snapshot()).toEqual(before);

    await decide(store, config, id, { kind: "approve", by: ids.M1! }, { now: at(10), actor: "test" });
    expect(await isMember("db-admins", "ada.lovelace")).toBe(false);
    const granted = await decide(
      store,
      config,
      id,
      { kind: "approve", by: ids.O1! },
      { now: at(30), actor: "test" },
    );
    expect(granted.request.state).toBe("approved");
    expect(granted.provisioning).toMatchObject({ succeeded: 1, failed: 0, error: null });
    expect(await isMember("db-admins", "ada.lovelace")).toBe(true);
    // The window counts from the grant (minute 30), not from the request (minute 0).
    const [assignment] = granted.assignments;
    expect(assignment).toMatchObject({
      identityId: ids.E1,
      target: { role: "db-admin" },
      validFrom: at(30).toISOString(),
      validUntil: at(30 + 2 * HOUR).toISOString(),
      requestId: id,
      approvedBy: `${ids.M1}, ${ids.O1}`,
    });

    // Before the end nothing is due.
    expect(
      (await endDueAssignments(store, config, { now: at(30 + 2 * HOUR - 1), actor: "timer" })).confirmed,
    ).toEqual([]);
    expect(await isMember("db-admins", "ada.lovelace")).toBe(true);

    const ended = await endDueAssignments(store, config, { now: at(30 + 2 * HOUR), actor: "timer" });
    expect(ended.unconfirmed).toEqual([]);
    expect(ended.confirmed).toHaveLength(1);
    expect(ended.confirmed[0]!.receipt.checks).toEqual([
      { system: "directory", username: "ada.lovelace", entitlement: "db-admins", outcome: "gone" },
      // The role also gave an account, which Ada keeps through her birthright role.
      { system: "directory", username: "ada.lovelace", entitlement: null, outcome: "kept" },
    ]);
    expect(await isMember("db-admins", "ada.lovelace")).toBe(false);
    // Birthright access is untouched.
    expect(await isMember("staff", "ada.lovelace")).toBe(true);
    expect((await assignmentRepository.find(store.db, assignment!.id))?.endedAt).toBe(
      at(30 + 2 * HOUR).toISOString(),
    );
    const actions = (await queryEvents(store.db, { limit: 100_000 })).map((e) => e.action);
    for (const action of [
      "request.submitted",
      "request.step_passed",
      "request.approved",
      "assignment.granted",
      "assignment.ended",
    ]) {
      expect(actions).toContain(action);
    }
    // Ended once: a second pass finds nothing more to do.
    expect((await endDueAssignments(store, config, { now: at(3 * HOUR), actor: "timer" })).confirmed).toEqual(
      [],
    );
  });

  it("has the people it needs", async () => {
    const tom = await identityRepository.findById(store.db, ids.T1!);
    expect(tom?.state).toBe("terminated");
  });

  it("refuses, changing nothing: a terminated or ineligible beneficiary, a duration over the maximum, a second pending request, someone else's report, no justification", async () => {
    const before = await snapshot();
    await expect(ask(5 * HOUR, { requesterId: ids.M1!, beneficiaryId: ids.T1! })).rejects.toMatchObject({
      code: "beneficiary_not_active",
    });
    await expect(ask(5 * HOUR, { requesterId: ids.M1!, beneficiaryId: ids.S1! })).rejects.toMatchObject({
      code: "not_eligible",
      message: expect.stringContaining("department == 'Engineering'"),
    });
    await expect(ask(5 * HOUR, { durationMs: 9 * 3_600_000 })).rejects.toMatchObject({
      code: "duration_too_long",
      message: expect.stringContaining("8h"),
    });
    await expect(ask(5 * HOUR, { requesterId: ids.O1!, beneficiaryId: ids.E1! })).rejects.toMatchObject({
      code: "not_your_report",
    });
    await expect(ask(5 * HOUR, { justification: "   " })).rejects.toMatchObject({
      code: "justification_required",
    });
    await expect(ask(5 * HOUR, { items: [{ kind: "role", role: "staff" }] })).rejects.toMatchObject({
      code: "not_requestable",
    });
    await expect(ask(5 * HOUR, { items: [{ kind: "role", role: "prod-admin" }] })).rejects.toMatchObject({
      code: "elevation_only",
    });
    expect(await snapshot()).toEqual(before);

    const first = await ask(5 * HOUR);
    const afterFirst = await snapshot();
    await expect(ask(5 * HOUR + 1)).rejects.toMatchObject({ code: "duplicate_request" });
    expect(await snapshot()).toEqual(afterFirst);
    // The manager is the only possible approver of step 1 and may not decide for themselves either:
    // asking for a report, the manager is the requester, so the step falls to nobody → refused.
    await decide(
      store,
      config,
      first.request.id,
      { kind: "cancel", by: ids.E1! },
      { now: at(5 * HOUR + 2), actor: "test" },
    );
  });

  it("refuses a request whose only possible approver is the beneficiary as their own manager", async () => {
    const before = await snapshot();
    await expect(ask(5 * HOUR + 10, { requesterId: ids.X1! })).rejects.toMatchObject({
      code: "no_approver",
      message: expect.stringContaining(
        "nobody can decide the step 'manager' of role db-admin for Xavi Selfmanaged",
      ),
    });
    expect(await snapshot()).toEqual(before);
  });

  it("refuses an approval after expiry, and an approval of an item the configuration no longer has", async () => {
    const pending = await ask(6 * HOUR);
    const before = await snapshot();
    await expect(
      decide(
        store,
        config,
        pending.request.id,
        { kind: "approve", by: ids.M1! },
        { now: at(6 * HOUR + 8 * 24 * HOUR), actor: "test" },
      ),
    ).rejects.toMatchObject({ code: "request_expired" });
    expect(await snapshot()).toEqual(before);

    const withoutRole = await loadConfig(
      await (async () => {
        const file = path.join(dir.dir, "changed.yaml");
        const ldap = config.policy.systems.directory!.connectorConfig as { users: { base: string } };
        await writeFile(file, yaml(false, ldap.users.base));
        return file;
      })(),
      { env: { LDAP_PASSWORD: slapd.adminPassword } },
    );
    await expect(
      decide(
        store,
        withoutRole,
        pending.request.id,
        { kind: "approve", by: ids.M1! },
        { now: at(6 * HOUR + 5), actor: "test" },
      ),
    ).rejects.toMatchObject({
      code: "item_gone",
      message: expect.stringContaining("no role named 'db-admin'"),
    });
    await expect(
      ask(6 * HOUR + 6, { items: [{ kind: "role", role: "db-admin" }] }).then(() => undefined),
    ).rejects.toMatchObject({
      code: "duplicate_request",
    });
    expect(await snapshot()).toEqual(before);
    await decide(
      store,
      config,
      pending.request.id,
      { kind: "cancel", by: ids.E1! },
      { now: at(6 * HOUR + 7), actor: "test" },
    );
  });

  it("auto-approves an elevation with an incident ticket within its quota; past it the owner decides", async () => {
    const elevate = (minute: number, ticket: string) =>
      submitRequest(
        store,
        config,
        {
          requesterId: ids.E1!,
          items: [{ kind: "role", role: "prod-admin" }],
          justification: "incident response",
          ticket,
          durationMs: HOUR * 60_000,
          kind: "elevation",
        },
        { now: at(minute), actor: "test" },
      );
    const auto = await elevate(7 * HOUR, "INC-7");
    expect(auto.request).toMatchObject({ state: "approved", autoApproved: true, steps: [] });
    expect(await isMember("prod-admins", "ada.lovelace")).toBe(true);
    // Ended early by its holder, read back at once.
    const revoked = await revokeRequestAccess(store, config, auto.request.id, {
      by: ids.E1!,
      asAdmin: false,
      now: at(7 * HOUR + 10),
      actor: "test",
    });
    expect(revoked.confirmed[0]?.receipt.checks[0]).toMatchObject({
      entitlement: "prod-admins",
      outcome: "gone",
    });
    expect(await isMember("prod-admins", "ada.lovelace")).toBe(false);

    const overQuota = await elevate(8 * HOUR, "INC-8");
    expect(overQuota.request).toMatchObject({ state: "pending", autoApproved: false });
    expect(overQuota.request.steps[0]).toMatchObject({ approvers: [ids.O1] });
    const noTicket = await elevate(8 * HOUR + 1, "CHG-1").catch((e: unknown) => e);
    expect(noTicket).toMatchObject({ code: "duplicate_request" });
    await decide(
      store,
      config,
      overQuota.request.id,
      { kind: "cancel", by: ids.E1! },
      { now: at(8 * HOUR + 2), actor: "test" },
    );
  });

  it("break-glass grants at once and opens the owner's after-the-fact review; a denied review ends the access", async () => {
    const glass = await submitRequest(
      store,
      config,
      {
        requesterId: ids.E1!,
        items: [{ kind: "role", role: "prod-admin" }],
        justification: "database down, no approver awake",
        durationMs: HOUR * 60_000,
        kind: "break-glass",
      },
      { now: at(8 * HOUR + 30), actor: "test" },
    );
    expect(glass.request).toMatchObject({ kind: "break-glass", state: "approved", autoApproved: true });
    expect(await isMember("prod-admins", "ada.lovelace")).toBe(true);
    const review = await accessRequestRepository.find(store.db, `${glass.request.id}-review`);
    expect(review).toMatchObject({ kind: "review", state: "pending", ticket: glass.request.id });
    expect(review?.steps[0]).toMatchObject({ approvers: [ids.O1] });
    // Break-glass does not use up the auto-approval quota, and is not a pending request of the item.
    await expect(
      decide(
        store,
        config,
        review!.id,
        { kind: "approve", by: ids.E1! },
        { now: at(8 * HOUR + 31), actor: "test" },
      ),
    ).rejects.toMatchObject({ code: "self_approval" });
    const denied = await decide(
      store,
      config,
      review!.id,
      { kind: "deny", by: ids.O1!, comment: "use the on-call path" },
      { now: at(8 * HOUR + 40), actor: "test" },
    );
    expect(denied.request.state).toBe("denied");
    expect(denied.assignments).toEqual([]);
    expect(await isMember("prod-admins", "ada.lovelace")).toBe(false);
    const grants = await assignmentRepository.list(store.db, { requestId: glass.request.id });
    expect(grants[0]).toMatchObject({
      revokedAt: at(8 * HOUR + 40).toISOString(),
      endedAt: at(8 * HOUR + 40).toISOString(),
    });
  });

  it("extends running access before its end, approved by the same steps: the same assignment, no gap", async () => {
    const asked = await ask(10 * HOUR);
    await decide(
      store,
      config,
      asked.request.id,
      { kind: "approve", by: ids.M1! },
      { now: at(10 * HOUR + 1), actor: "test" },
    );
    const granted = await decide(
      store,
      config,
      asked.request.id,
      { kind: "approve", by: ids.O1! },
      { now: at(10 * HOUR + 2), actor: "test" },
    );
    const original = granted.assignments[0]!;
    const extend = (minute: number) =>
      submitRequest(
        store,
        config,
        {
          requesterId: ids.E1!,
          items: [{ kind: "role", role: "db-admin" }],
          justification: "migration overran",
          durationMs: 60 * 60_000,
          kind: "extension",
          extendsRequest: asked.request.id,
        },
        { now: at(minute), actor: "test" },
      );
    const extension = await extend(11 * HOUR);
    expect(extension.request).toMatchObject({
      kind: "extension",
      state: "pending",
      extends: asked.request.id,
    });
    expect(extension.request.steps.map((s) => s.approvers)).toEqual([[ids.M1], [ids.O1]]);
    await decide(
      store,
      config,
      extension.request.id,
      { kind: "approve", by: ids.M1! },
      { now: at(11 * HOUR + 5), actor: "test" },
    );
    const extended = await decide(
      store,
      config,
      extension.request.id,
      { kind: "approve", by: ids.O1! },
      { now: at(11 * HOUR + 6), actor: "test" },
    );
    // No new assignment, nothing provisioned: the same one ends an hour later.
    expect(extended.assignments).toEqual([]);
    expect(extended.provisioning).toBeNull();
    const after = await assignmentRepository.list(store.db, { requestId: asked.request.id });
    expect(after).toHaveLength(1);
    expect(after[0]).toMatchObject({
      id: original.id,
      validUntil: at(10 * HOUR + 2 + 3 * HOUR).toISOString(),
    });
    // At the original end nothing ends; at the new one it does.
    expect(
      (await endDueAssignments(store, config, { now: at(12 * HOUR + 2), actor: "timer" })).confirmed,
    ).toEqual([]);
    expect(await isMember("db-admins", "ada.lovelace")).toBe(true);
    expect(
      (await endDueAssignments(store, config, { now: at(13 * HOUR + 2), actor: "timer" })).confirmed,
    ).toHaveLength(1);
    expect(await isMember("db-admins", "ada.lovelace")).toBe(false);
    // Once the access has ended, it is asked for again, not extended.
    await expect(extend(13 * HOUR + 3)).rejects.toMatchObject({ code: "access_ended" });
  });

  it("lets a delegate decide while the approver is away, never the beneficiary, never out of the window", async () => {
    const asked = await ask(15 * HOUR);
    const id = asked.request.id;
    await createDelegation(
      store,
      { delegatorId: ids.M1!, delegateId: ids.E1!, from: at(15 * HOUR), until: at(16 * HOUR) },
      { now: at(15 * HOUR), actor: "test" },
    );
    const before = await snapshot();
    // The beneficiary holding the manager's delegation still may not decide their own request.
    await expect(
      decide(store, config, id, { kind: "approve", by: ids.E1! }, { now: at(15 * HOUR + 1), actor: "test" }),
    ).rejects.toMatchObject({
      code: "self_approval",
    });
    await createDelegation(
      store,
      { delegatorId: ids.M1!, delegateId: ids.B1!, from: at(15 * HOUR), until: at(15 * HOUR + 30) },
      { now: at(15 * HOUR), actor: "test" },
    );
    // Past its window the delegation is nothing.
    await expect(
      decide(store, config, id, { kind: "approve", by: ids.B1! }, { now: at(15 * HOUR + 31), actor: "test" }),
    ).rejects.toMatchObject({
      code: "not_an_approver",
    });
    expect((await snapshot()).requests).toEqual(before.requests);
    expect((await waitingFor(store, ids.B1!, at(15 * HOUR + 2), { limit: 10 })).map((r) => r.id)).toEqual([
      id,
    ]);
    const decided = await decide(
      store,
      config,
      id,
      { kind: "approve", by: ids.B1! },
      { now: at(15 * HOUR + 2), actor: "test" },
    );
    expect(decided.request.decisions[0]).toMatchObject({
      by: ids.B1,
      onBehalfOf: ids.M1,
      verdict: "approve",
    });
    expect(decided.request.currentStep).toBe(1);
    await decide(
      store,
      config,
      id,
      { kind: "cancel", by: ids.E1! },
      { now: at(15 * HOUR + 3), actor: "test" },
    );
  });

  it("escalates a step left waiting to the approvers' managers, who may then decide", async () => {
    const asked = await ask(16 * HOUR);
    expect(await remindApprovers(store, config, at(16 * HOUR + 60))).toBe(0);
    // requests.escalateAfter defaults to 3 days.
    const escalated = await remindApprovers(store, config, at(16 * HOUR + 3 * 24 * HOUR + 1));
    expect(escalated).toBe(1);
    const after = await accessRequestRepository.find(store.db, asked.request.id);
    expect(after?.steps[0]?.approvers).toEqual([ids.M1, ids.B1]);
    // Escalated once: a later pass adds nobody.
    expect(await remindApprovers(store, config, at(16 * HOUR + 3 * 24 * HOUR + 30))).toBe(0);
    const decided = await decide(
      store,
      config,
      asked.request.id,
      { kind: "approve", by: ids.B1! },
      { now: at(16 * HOUR + 3 * 24 * HOUR + 40), actor: "test" },
    );
    expect(decided.request.currentStep).toBe(1);
    await decide(
      store,
      config,
      asked.request.id,
      { kind: "cancel", by: ids.E1! },
      { now: at(16 * HOUR + 3 * 24 * HOUR + 41), actor: "test" },
    );
  });

  it("a process down at the end of a window revokes when it starts, within seconds", async () => {
    const asked = await ask(14 * HOUR);
    await decide(
      store,
      config,
      asked.request.id,
      { kind: "approve", by: ids.M1! },
      { now: at(9 * HOUR + 1), actor: "test" },
    );
    await decide(
      store,
      config,
      asked.request.id,
      { kind: "approve", by: ids.O1! },
      { now: at(9 * HOUR + 2), actor: "test" },
    );
    expect(await isMember("db-admins", "ada.lovelace")).toBe(true);
    // Nothing ran at the end (14h02 + 2h); the process starts an hour later.
    const clock = at(17 * HOUR + 2);
    const passes: number[] = [];
    const timer = startAccessTimer({
      store,
      config,
      now: () => clock,
      actor: "serve",
      onPass: (p) => passes.push(p.confirmed.length),
      onError: (err) => {
        throw err;
      },
    });
    try {
      const deadline = Date.now() + 20_000;
      while (passes.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    } finally {
      await timer.stop();
    }
    expect(passes[0]).toBe(1);
    expect(await isMember("db-admins", "ada.lovelace")).toBe(false);
    const identity = await identityRepository.findById(store.db, ids.E1!);
    expect(identity?.state).toBe("active");
  });
});
