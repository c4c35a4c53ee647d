import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { workerAttributes } from "../../test/fakes/worker-attributes.js";
import { type ConfigIssue, loadConfig, validateConfigFile } from "./config-loader.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "tenure-requestable-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function write(lines: readonly string[]): Promise<string> {
  const file = join(dir, "tenure.yaml");
  await writeFile(file, `${lines.join("\n")}\n`);
  return file;
}

async function errorsOf(lines: readonly string[]): Promise<string[]> {
  const { config, errors } = await validateConfigFile(await write(lines), { env: {} });
  expect(config).toBeUndefined();
  return errors.map((e: ConfigIssue) => `${e.line}:${e.column} ${e.path}: ${e.message}`);
}

const base = [
  "systems:", // 1
  "  db:", // 2
  "    connector: sql", // 3
  "    owner: dba@example.test", // 4
  "    config:", // 5
  '      url: "sqlite:./db.db"', // 6
  "      users: { table: users, id: id, username: login, enabled: { column: active } }", // 7
  "      memberships: { table: members, user: user_id, group: grp }", // 8
  "entitlements:", // 9
  "  db:", // 10
  "    readers: { requestable: true }", // 11
  "    admins: { privileged: true }", // 12
  "roles:", // 13
];

describe("requestable roles and entitlements in tenure.yaml", () => {
  it("compiles the settings: eligibility, durations, steps and auto-approval with its quota", async () => {
    const file = await write([
      ...base,
      "  db-admin:", // 14
      "    owner: lead@example.test", // 15
      "    grants: [{ system: db, entitlements: [admins] }]", // 16
      "    elevation: true", // 17
      "    requestable:", // 18
      "      eligible: \"department == 'Engineering'\"", // 19
      "      defaultDuration: 2h", // 20
      "      maxDuration: 8h", // 21
      "      approval:", // 22
      "        - manager", // 23
      "        - { identities: [a@example.test, b@example.test], required: 2, name: DBAs }", // 24
      "        - { platformRole: admin }", // 25
      "      autoApprove:", // 26
      "        when: \"ticket.matches('^INC-[0-9]+$')\"", // 27
      "        quota: { max: 3, per: 30d }", // 28
    ]);
    const config = await loadConfig(file, { env: {} });
    const role = config.policy.roles["db-admin"];
    expect(role).toMatchObject({ owner: "lead@example.test", elevation: true });
    const r = role?.requestable;
    expect(r).toMatchObject({
      defaultDurationMs: 2 * 3_600_000,
      maxDurationMs: 8 * 3_600_000,
      approval: [
        { name: "manager", approvers: { kind: "manager" }, required: 1, location: { line: 23 } },
        {
          name: "DBAs",
          approvers: { kind: "identities", refs: ["a@example.test", "b@example.test"] },
          required: 2,
        },
        { name: "admins", approvers: { kind: "platform-role", role: "admin" }, required: 1 },
      ],
      autoApprove: { quota: { max: 3, periodMs: 30 * 86_400_000 } },
      location: { line: 18 },
    });
    const engineer = workerAttributes({ department: "Engineering" });
    expect(r?.eligible?.evaluate(engineer).value).toBe(true);
    expect(r?.eligible?.evaluate({ ...engineer, department: "Sales" }).value).toBe(false);
    const auto = r?.autoApprove?.when;
    const withTicket = (ticket: string) => ({ ...engineer, ticket, justification: "x" }) as never;
    expect(auto?.evaluate(withTicket("INC-42")).value).toBe(true);
    expect(auto?.evaluate(withTicket("CHG-42")).value).toBe(false);
    // `requestable: true` on an entitlement: the manager approves, 7 days by default.
    expect(config.policy.entitlements.db?.readers?.requestable).toMatchObject({
      defaultDurationMs: 7 * 86_400_000,
      approval: [{ approvers: { kind: "manager" } }],
    });
    expect(config.policy.entitlements.db?.admins?.requestable).toBeNull();
  });

  it("reports each mistake in the settings at its file:line, and loads nothing", async () => {
    const errors = await errorsOf([
      ...base,
      "  a:", // 14
      "    requestable:", // 15
      "      eligible: \"departmnt == 'x'\"", // 16
      "      maxDuration: 8 hours", // 17
      "      approval:", // 18
      "        - boss", // 19
      "        - { identities: [a@example.test], required: 2 }", // 20
      "        - { approvers: manager, platformRole: admin }", // 21
      "        - { platformRole: root }", // 22
      "      autoApprove: { when: \"tickt == 'x'\" }", // 23
    ]);
    expect(errors).toEqual([
      "16:18 roles.a.requestable.eligible: unknown attribute 'departmnt' — did you mean 'department'?",
      expect.stringMatching(
        /^17:20 roles\.a\.requestable\.maxDuration: expected a duration: .*found "8 hours"$/,
      ),
      expect.stringMatching(
        /^19:11 roles\.a\.requestable\.approval\[0\]: expected manager, owner, system-owner, or a mapping/,
      ),
      "20:53 roles.a.requestable.approval[1].required: this step needs 2 approvals but names only 1 person, found 2",
      expect.stringMatching(
        /^21:11 roles\.a\.requestable\.approval\[2\]: expected exactly one of approvers, identities or platformRole/,
      ),
      expect.stringMatching(
        /^22:27 roles\.a\.requestable\.approval\[3\]\.platformRole: expected a platform role: admin, .*found "root"$/,
      ),
      "23:29 roles.a.requestable.autoApprove.when: unknown attribute 'tickt' — did you mean 'ticket'?",
    ]);
  });

  it("reports settings that cannot work together, at file:line", async () => {
    const errors = await errorsOf([
      ...base,
      "  b:", // 14
      "    requestable: { approval: [] }", // 15
      "  c:", // 16
      "    elevation: true", // 17
      "  d:", // 18
      "    elevation: true", // 19
      "    requestable: { maxDuration: 2d, approval: [owner] }", // 20
      "  e:", // 21
      "    requestable: { defaultDuration: 10d, maxDuration: 2d }", // 22
      "  f:", // 23
      "    elevation: true", // 24
      "    when: 'true'", // 25
      "    requestable: { maxDuration: 1h, approval: [manager] }", // 26
    ]);
    expect(errors).toEqual([
      expect.stringMatching(
        /^15:30 roles\.b\.requestable\.approval: expected approval steps, or autoApprove: nobody could ever approve/,
      ),
      expect.stringMatching(/^17:16 roles\.c\.elevation: an elevation role must say who may elevate/),
      expect.stringMatching(/^20:33 roles\.d\.requestable\.maxDuration: an elevation lasts at most 24h/),
      "22:37 roles.e.requestable.defaultDuration: the default duration is longer than maxDuration",
      expect.stringMatching(/^25:11 roles\.f\.when: an elevation role is eligible, not standing/),
    ]);
  });

  it("checks requests: workflows against the roles, and gives every setting a default", async () => {
    const errors = await errorsOf([
      ...base,
      "  standing:", // 14
      "    requestable: true", // 15
      "requests:", // 16
      "  pendingExpiry: 3d", // 17
      "  workflows:", // 18
      "    incidents: { secret: 0123456789abcdef, role: standing }", // 19
      "    changes: { secret: 0123456789abcdef, role: nope }", // 20
      "    short: { secret: short, role: standing }", // 21
    ]);
    // The secret is never repeated in the message.
    expect(errors).toEqual([
      "21:22 requests.workflows.short.secret: expected a shared secret of 16 characters or more, found a value that is not shown (the field is a secret)",
    ]);
    const crossChecked = await errorsOf([
      ...base,
      "  standing:", // 14
      "    requestable: true", // 15
      "requests:", // 16
      "  workflows:", // 17
      "    incidents: { secret: 0123456789abcdef, role: standing }", // 18
      "    changes: { secret: 0123456789abcdef, role: standin }", // 19
    ]);
    expect(crossChecked).toEqual([
      "18:50 requests.workflows.incidents.role: role 'standing' is not an elevation role (elevation: true)",
      "19:48 requests.workflows.changes.role: unknown role 'standin' — did you mean 'standing'?",
    ]);
    const config = await loadConfig(
      await write([...base.slice(0, -1), "requests: { pendingExpiry: 3d, remindAfter: off }"]),
      {
        env: {},
      },
    );
    expect(config.requests).toMatchObject({
      pendingExpiryMs: 3 * 86_400_000,
      remindAfterMs: null,
      escalateAfterMs: 3 * 86_400_000,
    });
  });
});
