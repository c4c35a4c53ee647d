// biome-ignore-all lint/suspicious/noTemplateCurlyInString: tenure.yaml text, where ${env:…} is a reference.
/**
 * Separation of duties end to end, on SQLite and PostgreSQL, against a real OpenLDAP slapd: a request
 * refused for a high-severity conflict (nothing written), a medium one decided by the rule's owner as an
 * extra step, the detective scan over birthright, requested and directly-added access (a member added
 * by hand in the directory, found by reconcile), an exception that nobody can approve for themselves and
 * that expires back into a violation, the auditors' reports, two requests that conflict only together
 * decided at the same moment (exactly one granted), a birthright conflict withheld until an exception,
 * and a rule removed by a config change.
 */
import { randomBytes } from "node:crypto";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { Attribute, Change } from "ldapts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { queryEvents } from "../../src/audit/ledger.js";
import { escapeFilterValue } from "../../src/connectors/ldap/ldap-escape.js";
import { ingestRecords } from "../../src/engine/ingest.js";
import { computeProvisionPlan, connectorPool } from "../../src/engine/provision.js";
import { reconcileSystems } from "../../src/engine/reconcile.js";
import { newViolations, scanSod } from "../../src/engine/sod-scan.js";
import { loadConfig } from "../../src/policy/config-loader.js";
import type { TenureConfig } from "../../src/policy/config-types.js";
import { accessRequestRepository } from "../../src/store/access-request-repository.js";
import { assignmentRepository } from "../../src/store/assignment-repository.js";
import { notificationRepository } from "../../src/store/notification-repository.js";
import { sodExceptionRepository, sodViolationRepository } from "../../src/store/sod-repository.js";
import { accessPass, startAccessTimer } from "../../src/workflows/access-timer.js";
import { decide } from "../../src/workflows/request-effects.js";
import { submitRequest } from "../../src/workflows/request-submission.js";
import { acceptViolation } from "../../src/workflows/sod-exceptions.js";
import { listViolations, REPORT_COLUMNS, reportRows, toCsv } from "../../src/workflows/sod-reports.js";
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
const GROUPS = ["staff", "vendor-create", "payment-approve", "treasury", "payroll-run", "payroll-approve"];

describe.skipIf(!installed).each(await storeFactories())("separation of duties on %s", (_kind, makeStore) => {
  let slapd: Slapd;
  let store: TestStore;
  let config: TenureConfig;
  let withhold: TenureConfig;
  let withoutPayroll: TenureConfig;
  let groupsBase: string;
  let people: string;
  let dir: { dir: string; dispose: () => Promise<void> };
  const ids: Record<string, string> = {};

  const yaml = (options: { onBirthrightConflict: string; payrollRule: boolean }) => `
sources:
  hr: { type: push }
systems:
  directory:
    connector: ldap
    drift: report
    account: { username: "{givenName}.{familyName}", attributes: { email: "{email}" } }
    config:
      url: ${slapd.url}
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
  ap-clerk:
    when: "department == 'Accounts Payable'"
    grants: [{ system: directory, entitlements: [vendor-create] }]
${[
  "payment-approver:payment-approve",
  "treasurer:treasury",
  "payroll-runner:payroll-run",
  "payroll-approver:payroll-approve",
]
  .map((pair) => {
    const [role, group] = pair.split(":");
    return `  ${role}:
    grants: [{ system: directory, entitlements: [${group}] }]
    requestable:
      defaultDuration: 8h
      maxDuration: 30d
      approval: [manager]`;
  })
  .join("\n")}
sod:
  onBirthrightConflict: ${options.onBirthrightConflict}
  rules:
    vendor-payment:
      description: Can create a vendor and approve its payment
      severity: high
      owner: olga@example.test
      sideA: { roles: [ap-clerk], entitlements: ["directory:vendor-create"] }
      sideB: { entitlements: ["directory:payment-approve"] }
      mitigations:
        - control: Monthly review of vendor master changes by the controller
          owner: olga@example.test
    treasury-vendors:
      description: Moves money and creates the vendors it goes to
      severity: medium
      owner: olga@example.test
      sideA: { roles: [treasurer] }
      sideB: { entitlements: ["directory:vendor-create"] }
${
  options.payrollRule
    ? `    payroll:
      description: Runs payroll and approves it
      severity: high
      owner: olga@example.test
      sideA: { entitlements: ["directory:payroll-run"] }
      sideB: { entitlements: ["directory:payroll-approve"] }`
    : ""
}
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
    dir = await tempDir("tenure-sod-");
    config = await load("tenure.yaml", yaml({ onBirthrightConflict: "report", payrollRule: true }));
    withhold = await load("withhold.yaml", yaml({ onBirthrightConflict: "withhold", payrollRule: true }));
    withoutPayroll = await load(
      "no-payroll.yaml",
      yaml({ onBirthrightConflict: "report", payrollRule: false }),
    );
    store = await makeStore();
    const person = (key: string, given: string, family: string, department: string) => ({
      employeeId: key,
      givenName: given,
      familyName: family,
      email: `${given.toLowerCase()}@example.test`,
      employmentType: "employee",
      department,
      managerId: key === "M1" ? "B1" : "M1",
      startDate: "2026-01-05",
    });
    const pushed = await ingestRecords(store, config, {
      source: "hr",
      rows: [
        person("B1", "Bea", "Boss", "Board"),
        person("M1", "Mia", "Manager", "Finance"),
        person("O1", "Olga", "Owner", "Risk"),
        person("A1", "Ada", "Clerk", "Accounts Payable"),
        person("E1", "Eve", "Finance", "Finance"),
        person("F1", "Fay", "Payroll", "Finance"),
        person("G1", "Gus", "Mover", "Finance"),
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
  const addByHand = async (group: string, uid: string) => {
    if (await isMember(group, uid)) return;
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
  const reconcile = (now: Date, cfg = config) =>
    reconcileSystems(store, cfg, ["directory"], connectorPool(cfg), { now: () => now, actor: "test" });
  /** Everything a refusal must leave as it was. */
  const snapshot = async () => ({
    requests: await accessRequestRepository.list(store.db, { limit: 1000 }),
    assignments: await assignmentRepository.list(store.db),
    violations: await sodViolationRepository.open(store.db),
    exceptions: await sodExceptionRepository.list(store.db, { now: at(0).toISOString() }),
    ledger: (await queryEvents(store.db, { limit: 100_000 })).length,
  });
  const ask = (minute: number, requester: string, role: string, cfg = config) =>
    submitRequest(
      store,
      cfg,
      {
        requesterId: ids[requester]!,
        items: [{ kind: "role", role }],
        justification: "quarter close",
        durationMs: 8 * 3_600_000,
      },
      { now: at(minute), actor: "test" },
    );
  const owned = async (event: string) =>
    (await notificationRepository.list(store.db, { event, limit: 1000 })).filter((n) =>
      n.recipient.includes("olga@example.test"),
    );

  it("refuses a request creating a high-severity conflict, naming the rule and the access it collides with; nothing is written", async () => {
    // Ada is an AP clerk by birthright: she creates vendors.
    expect(await isMember("vendor-create", "ada.clerk")).toBe(true);
    const before = await snapshot();
    await expect(ask(0, "A1", "payment-approver")).rejects.toMatchObject({
      code: "sod_conflict",
      httpStatus: 409,
      message: expect.stringMatching(
        /Ada Clerk: directory:payment-approve would be held together with .*role ap-clerk \(birthright role ap-clerk \(department == 'Accounts Payable' at tenure\.yaml:\d+\)\).*rule vendor-payment \(tenure\.yaml:\d+, high\).*Can create a vendor and approve its payment; nothing was submitted/,
      ),
    });
    expect(await snapshot()).toEqual(before);
    expect(await isMember("payment-approve", "ada.clerk")).toBe(false);
  });

  it("a medium conflict needs the rule owner's approval as an extra step, which becomes an exception for the window", async () => {
    const submitted = await ask(1, "A1", "treasurer");
    expect(submitted.request.steps).toEqual([
      { name: "manager", approvers: [ids.M1], required: 1 },
      { name: "separation of duties: owner of rule treasury-vendors", approvers: [ids.O1], required: 1 },
    ]);
    await decide(
      store,
      config,
      submitted.request.id,
      { kind: "approve", by: ids.M1! },
      { now: at(2), actor: "test" },
    );
    expect(await isMember("treasury", "ada.clerk")).toBe(false);
    const granted = await decide(
      store,
      config,
      submitted.request.id,
      { kind: "approve", by: ids.O1! },
      { now: at(3), actor: "test" },
    );
    expect(granted.request.state).toBe("approved");
    expect(await isMember("treasury", "ada.clerk")).toBe(true);
    const [exception] = await sodExceptionRepository.inForce(store.db, at(3).toISOString(), [ids.A1!]);
    expect(exception).toMatchObject({
      rule: "treasury-vendors",
      approvedBy: ids.O1,
      requestId: submitted.request.id,
      expiresAt: at(3 + 8 * HOUR).toISOString(),
      control: expect.stringContaining("approved by the rule owner"),
    });
    // The scan after the grant keeps it on record, accepted.
    const [view] = await listViolations(store, config, { identityId: ids.A1! }, at(4));
    expect(view).toMatchObject({ rule: "treasury-vendors", status: "excepted", severity: "medium" });
  });

  it("the detective scan sees birthright, requested and directly-added access, with lineage, and tells the owner", async () => {
    // Eve asks for payment approval: alone, no conflict.
    const req = await ask(10, "E1", "payment-approver");
    expect(req.request.steps.map((s) => s.name)).toEqual(["manager"]);
    await decide(
      store,
      config,
      req.request.id,
      { kind: "approve", by: ids.M1! },
      { now: at(11), actor: "test" },
    );
    expect(await isMember("payment-approve", "eve.finance")).toBe(true);
    expect(await sodViolationRepository.open(store.db, { identityIds: [ids.E1!] })).toEqual([]);

    // Someone adds Eve to vendor-create by hand in the directory: reconcile finds it, the scan follows.
    await addByHand("vendor-create", "eve.finance");
    const run = await reconcile(at(12));
    expect(run.sod?.opened.map((v) => [v.identityId, v.rule])).toEqual([[ids.E1, "vendor-payment"]]);
    const [eve] = await listViolations(store, config, { identityId: ids.E1! }, at(12));
    expect(eve).toMatchObject({ rule: "vendor-payment", severity: "high", status: "open" });
    const side = (label: string) => eve!.sides.find((s) => s.label === label)?.why ?? [];
    expect(side("directory:vendor-create")).toEqual([
      "found in directory on account eve.finance, not granted by Tenure (added in the system directly)",
    ]);
    expect(side("directory:payment-approve").join(" ")).toContain(
      `role payment-approver by request ${req.request.id} until ${at(11 + 8 * HOUR).toISOString()}`,
    );
    const events = await queryEvents(store.db, { limit: 100_000 });
    expect(
      events.filter((e) => e.action === "sod.violation_opened" && e.subject === `identity:${ids.E1}`),
    ).toHaveLength(1);
    expect((await owned("sod.violation")).some((n) => n.body.includes("Eve Finance"))).toBe(true);

    // Eve moves to Accounts Payable: birthright ap-clerk now counts too, on the same violation.
    await ingestRecords(store, config, {
      source: "hr",
      rows: [
        {
          employeeId: "E1",
          givenName: "Eve",
          familyName: "Finance",
          email: "eve@example.test",
          employmentType: "employee",
          department: "Accounts Payable",
          managerId: "M1",
          startDate: "2026-01-05",
        },
      ],
      attributeNames: true,
      actor: "test",
      now: at(13),
    });
    const [moved] = await listViolations(store, config, { identityId: ids.E1! }, at(13));
    expect(moved!.id).toBe(eve!.id);
    expect(moved!.sides.map((s) => s.label).sort()).toEqual([
      "directory:payment-approve",
      "directory:vendor-create",
      "role ap-clerk",
    ]);
    expect(moved!.sides.find((s) => s.label === "role ap-clerk")?.why).toEqual([
      expect.stringMatching(
        /^birthright role ap-clerk \(department == 'Accounts Payable' at tenure\.yaml:\d+\)$/,
      ),
    ]);
  });

  it("nobody accepts their own violation; the owner's exception expires back into a violation and notifies", async () => {
    const [eve] = await listViolations(store, config, { identityId: ids.E1! }, at(20));
    const before = await snapshot();
    await expect(
      acceptViolation(
        store,
        config,
        {
          violationId: eve!.id,
          approverId: ids.E1!,
          asAdmin: true,
          justification: "I need both",
          expiresAt: at(HOUR),
        },
        { now: at(20), actor: "test" },
      ),
    ).rejects.toMatchObject({ code: "self_exception", httpStatus: 403 });
    // Not the owner, not an admin: refused too.
    await expect(
      acceptViolation(
        store,
        config,
        {
          violationId: eve!.id,
          approverId: ids.M1!,
          asAdmin: false,
          justification: "fine",
          expiresAt: at(HOUR),
        },
        { now: at(20), actor: "test" },
      ),
    ).rejects.toMatchObject({ code: "not_rule_owner" });
    expect(await snapshot()).toEqual(before);

    const exception = await acceptViolation(
      store,
      config,
      {
        violationId: eve!.id,
        approverId: ids.O1!,
        asAdmin: false,
        justification: "cover during the audit",
        expiresAt: at(HOUR),
      },
      { now: at(20), actor: "test" },
    );
    expect(exception).toMatchObject({
      approvedBy: ids.O1,
      control: "Monthly review of vendor master changes by the controller",
    });
    expect((await listViolations(store, config, { identityId: ids.E1! }, at(21)))[0]?.status).toBe(
      "excepted",
    );

    // One second before its expiry it still holds; at the expiry the clock ends it.
    expect((await accessPass(store, config, { now: at(HOUR - 1), actor: "timer" })).endedExceptions).toBe(0);
    const pass = await accessPass(store, config, { now: at(HOUR), actor: "timer" });
    expect(pass.endedExceptions).toBe(1);
    const [again] = await listViolations(store, config, { identityId: ids.E1! }, at(HOUR));
    expect(again).toMatchObject({ id: eve!.id, status: "open", exception: null });
    const actions = (await queryEvents(store.db, { limit: 100_000 })).map((e) => e.action);
    expect(actions).toContain("sod.exception_approved");
    expect(actions).toContain("sod.exception_expired");
    expect((await owned("sod.exception-ended")).some((n) => n.body.includes("expired"))).toBe(true);
  });

  it("reports for auditors: rules, current violations, exceptions with approver and expiry, and a period's history, as CSV", async () => {
    const now = at(HOUR + 1);
    const rules = await reportRows(store, config, "rules", { now });
    expect(rules.map((r) => r.rule)).toEqual(["vendor-payment", "treasury-vendors", "payroll"]);
    const violations = await reportRows(store, config, "violations", { now });
    expect(violations.find((r) => r.holder === "Eve Finance")).toMatchObject({
      rule: "vendor-payment",
      status: "open",
    });
    const csv = toCsv(await reportRows(store, config, "exceptions", { now }), REPORT_COLUMNS.exceptions);
    const lines = csv.trim().split("\n");
    expect(lines[0]).toBe(REPORT_COLUMNS.exceptions.join(","));
    expect(
      lines.some(
        (l) =>
          l.includes("Eve Finance") &&
          l.includes("Olga Owner") &&
          l.includes(at(HOUR).toISOString()) &&
          l.includes("expired"),
      ),
    ).toBe(true);
    const history = await reportRows(store, config, "history", { now, from: at(0), to: at(HOUR) });
    expect(history.some((r) => r.holder === "Eve Finance" && r.rule === "vendor-payment")).toBe(true);
    expect(
      await reportRows(store, config, "history", { now, from: at(-10 * HOUR), to: at(-9 * HOUR) }),
    ).toEqual([]);
  });

  it("two requests allowed alone but conflicting together, decided at the same moment: exactly one is granted", async () => {
    const runner = await ask(2 * HOUR, "F1", "payroll-runner");
    const approver = await ask(2 * HOUR, "F1", "payroll-approver");
    const outcomes = await Promise.allSettled([
      decide(
        store,
        config,
        runner.request.id,
        { kind: "approve", by: ids.M1! },
        { now: at(2 * HOUR + 1), actor: "test" },
      ),
      decide(
        store,
        config,
        approver.request.id,
        { kind: "approve", by: ids.M1! },
        { now: at(2 * HOUR + 1), actor: "test" },
      ),
    ]);
    const granted = outcomes.filter((o) => o.status === "fulfilled");
    const refused = outcomes.filter((o): o is PromiseRejectedResult => o.status === "rejected");
    expect(granted).toHaveLength(1);
    expect(refused).toHaveLength(1);
    expect(refused[0]!.reason).toMatchObject({ code: "sod_conflict" });
    const held = [
      await isMember("payroll-run", "fay.payroll"),
      await isMember("payroll-approve", "fay.payroll"),
    ];
    expect(held.filter(Boolean)).toHaveLength(1);
    const assignments = (await assignmentRepository.list(store.db, { identityId: ids.F1! })).filter(
      (a) => a.revokedAt === null,
    );
    expect(assignments).toHaveLength(1);
    // The refused one is still pending: nothing of it was written.
    const states = await Promise.all(
      [runner, approver].map((r) => accessRequestRepository.find(store.db, r.request.id)),
    );
    expect(states.map((s) => s?.state).sort()).toEqual(["approved", "pending"]);
  });

  it("withhold: a birthright change creating a conflict is kept out of the plan until an exception, and the owner is told", async () => {
    const req = await ask(3 * HOUR, "G1", "payment-approver", withhold);
    await decide(
      store,
      withhold,
      req.request.id,
      { kind: "approve", by: ids.M1! },
      { now: at(3 * HOUR + 1), actor: "test" },
    );
    expect(await isMember("payment-approve", "gus.mover")).toBe(true);
    // Gus moves to Accounts Payable: ap-clerk would give vendor-create, which collides: withheld.
    const pushed = await ingestRecords(store, withhold, {
      source: "hr",
      rows: [
        {
          employeeId: "G1",
          givenName: "Gus",
          familyName: "Mover",
          email: "gus@example.test",
          employmentType: "employee",
          department: "Accounts Payable",
          managerId: "M1",
          startDate: "2026-01-05",
        },
      ],
      attributeNames: true,
      actor: "test",
      now: at(3 * HOUR + 2),
    });
    expect(
      pushed.problems.some((p) => p.kind === "sod-withheld" && p.message.includes("directory:vendor-create")),
    ).toBe(true);
    expect(await isMember("vendor-create", "gus.mover")).toBe(false);
    const [gus] = await listViolations(store, withhold, { identityId: ids.G1! }, at(3 * HOUR + 2));
    expect(gus).toMatchObject({ rule: "vendor-payment", status: "withheld" });
    expect(
      (await owned("sod.violation")).some((n) => n.body.includes("Gus Mover") && n.body.includes("withheld")),
    ).toBe(true);
    // A full plan withholds it too.
    const plan = await computeProvisionPlan(store, withhold, { now: at(3 * HOUR + 3) });
    expect(plan.operations.some((op) => op.identityId === ids.G1 && op.entitlement === "vendor-create")).toBe(
      false,
    );

    await acceptViolation(
      store,
      withhold,
      {
        violationId: gus!.id,
        approverId: ids.O1!,
        asAdmin: false,
        justification: "covering AP for a month",
        expiresAt: at(30 * 24 * HOUR),
      },
      { now: at(3 * HOUR + 4), actor: "test" },
    );
    expect(await isMember("vendor-create", "gus.mover")).toBe(true);
    expect(
      (await listViolations(store, withhold, { identityId: ids.G1! }, at(3 * HOUR + 5)))[0]?.status,
    ).toBe("excepted");
  });

  it("previews: plan under a policy shows whom it would newly put in violation, including a future-dated grant at its time", async () => {
    // Mia gets treasury from next week (an admin's assignment), and vendor-create by hand today.
    await assignmentRepository.insert(
      store.db,
      {
        id: "future-treasury",
        identityId: ids.M1!,
        target: { role: "treasurer" },
        employment: 1,
        validFrom: at(7 * 24 * HOUR).toISOString(),
        validUntil: at(8 * 24 * HOUR).toISOString(),
        reason: "cover",
        approvedBy: "admin",
        revokedAt: null,
      },
      at(4 * HOUR).toISOString(),
    );
    await addByHand("vendor-create", "mia.manager");
    await reconcile(at(4 * HOUR));
    expect(await listViolations(store, config, { identityId: ids.M1! }, at(4 * HOUR))).toEqual([]);
    const upcoming = await newViolations(store, config, at(4 * HOUR));
    expect(upcoming.find((v) => v.identityId === ids.M1)).toMatchObject({
      rule: "treasury-vendors",
      from: at(7 * 24 * HOUR).toISOString(),
    });
  });

  it("a rule removed by a config change: its violations close, the scan goes on for the rest", async () => {
    // Fay holds one payroll side by request; the other is added by hand: a payroll violation opens.
    await addByHand("payroll-run", "fay.payroll");
    await addByHand("payroll-approve", "fay.payroll");
    const found = await reconcile(at(5 * HOUR));
    expect(found.sod?.opened.map((v) => v.rule)).toContain("payroll");
    const result = await scanSod(store, withoutPayroll, { now: at(5 * HOUR + 1), actor: "test" });
    expect(result.closed.map((v) => [v.rule, v.closeReason])).toEqual([["payroll", "rule removed"]]);
    const open = await sodViolationRepository.open(store.db);
    expect(open.some((v) => v.rule === "payroll")).toBe(false);
    expect(open.some((v) => v.identityId === ids.E1 && v.rule === "vendor-payment")).toBe(true);
  });

  it("an exception that expired while the process was down ends when it starts; one due later wakes the clock at its moment", async () => {
    const [eve] = await listViolations(store, config, { identityId: ids.E1! }, at(6 * HOUR));
    await acceptViolation(
      store,
      config,
      {
        violationId: eve!.id,
        approverId: ids.O1!,
        asAdmin: false,
        justification: "audit week",
        expiresAt: at(7 * HOUR),
      },
      { now: at(6 * HOUR), actor: "test" },
    );
    // The process starts an hour after the expiry: the first pass ends it.
    const ended: number[] = [];
    const down = startAccessTimer({
      store,
      config,
      now: () => at(8 * HOUR),
      actor: "serve",
      onPass: (p) => ended.push(p.endedExceptions),
      onError: (err) => {
        throw err;
      },
    });
    try {
      const deadline = Date.now() + 20_000;
      while (ended.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    } finally {
      await down.stop();
    }
    expect(ended[0]).toBe(1);

    // Accepted again until 1.5 s from now on a running clock: the timer (polling every 30 s) wakes at
    // the expiry instead.
    const offset = at(9 * HOUR).getTime() - Date.now();
    const clock = () => new Date(Date.now() + offset);
    const accepted = await acceptViolation(
      store,
      config,
      {
        violationId: eve!.id,
        approverId: ids.O1!,
        asAdmin: false,
        justification: "one more day",
        expiresAt: new Date(clock().getTime() + 1_500),
      },
      { now: clock(), actor: "test" },
    );
    const running = startAccessTimer({
      store,
      config,
      now: clock,
      actor: "serve",
      onError: (err) => {
        throw err;
      },
    });
    try {
      const deadline = Date.now() + 15_000;
      while (Date.now() < deadline) {
        if ((await sodExceptionRepository.find(store.db, accepted.id))?.endedAt) break;
        await new Promise((r) => setTimeout(r, 100));
      }
    } finally {
      await running.stop();
    }
    const after = await sodExceptionRepository.find(store.db, accepted.id);
    expect(after?.endedAt).not.toBeNull();
    expect(Date.parse(after!.endedAt!)).toBeGreaterThanOrEqual(Date.parse(accepted.expiresAt));
  });

  it("two scans finding the same new violation at once open it once", async () => {
    for (const [id, target] of [
      ["bea-vendors", { system: "directory", entitlement: "vendor-create" }],
      ["bea-payments", { role: "payment-approver" }],
    ] as const) {
      await assignmentRepository.insert(
        store.db,
        {
          id,
          identityId: ids.B1!,
          target,
          employment: 1,
          validFrom: at(10 * HOUR).toISOString(),
          validUntil: null,
          reason: "cover",
          approvedBy: "admin",
          revokedAt: null,
        },
        at(10 * HOUR).toISOString(),
      );
    }
    const now = at(10 * HOUR + 1);
    const [full, one] = await Promise.all([
      scanSod(store, config, { now, actor: "nightly" }),
      scanSod(store, config, { now, actor: "push", identityIds: [ids.B1!] }),
    ]);
    const opened = [...full.opened, ...one.opened].filter((v) => v.identityId === ids.B1);
    expect(opened).toHaveLength(1);
    expect(await sodViolationRepository.open(store.db, { identityIds: [ids.B1!] })).toHaveLength(1);
    const events = (await queryEvents(store.db, { limit: 100_000 })).filter(
      (e) => e.action === "sod.violation_opened" && e.subject === `identity:${ids.B1}`,
    );
    expect(events).toHaveLength(1);
  });
});
