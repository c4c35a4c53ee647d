/**
 * Attribute-driven roles end to end in the pure layers: tenure.yaml → compiled policy (problems at
 * file:line) → desired state with lineage → explain naming the attribute value that chose a group.
 */
import { describe, expect, it } from "vitest";
import { workerAttributes } from "../../test/fakes/worker-attributes.js";
import { computeDesiredAccess } from "../domain/desired-state.js";
import { explainAccess } from "../domain/explain.js";
import type { Identity, WorkerAttributes } from "../domain/identity-types.js";
import { validateConfigText } from "./config-loader.js";
import type { TenureConfig } from "./config-types.js";

const SYSTEM = [
  "systems:",
  "  dir:",
  "    connector: sql",
  "    config:",
  '      url: "sqlite::memory:"',
  "      users: { table: users, id: id, username: login, enabled: { column: active } }",
  "      memberships: { table: members, user: user_id, group: grp }",
  "entitlements:",
  "  dir:",
  "    admins: { privileged: true }",
];

const ROLES = [
  "roles:",
  "  department-groups:",
  "    when: true",
  "    grants:",
  "      - system: dir",
  '        entitlements: ["dept-{department|slug}"]',
  "  sites:",
  "    when: \"employmentType == 'employee'\"",
  "    grants:",
  "      - system: dir",
  "        entitlements:",
  "          - fromAttribute: location",
  "            map: { London: site-lon, Paris: site-par }",
  "            default: site-other",
];

async function load(lines: readonly string[]) {
  return validateConfigText(`${lines.join("\n")}\n`, { path: "tenure.yaml", env: {} });
}

async function policyOf(lines: readonly string[]): Promise<TenureConfig> {
  const { config, errors } = await load(lines);
  expect(errors).toEqual([]);
  return config!;
}

const NOW = new Date("2026-03-02T10:00:00Z");

function person(attributes: Partial<WorkerAttributes>, extra: Partial<Identity> = {}): Identity {
  return {
    id: "id-1",
    kind: "human",
    source: "hr",
    sourceKey: "E1",
    state: "active",
    attributes: workerAttributes(attributes),
    employment: 1,
    stateSince: "2026-01-05T09:00:00.000Z",
    createdAt: "2026-01-05T09:00:00.000Z",
    updatedAt: "2026-01-05T09:00:00.000Z",
    lastRecordId: null,
    previousAttributes: null,
    attributesChangedAt: null,
    ...extra,
  };
}

function desired(config: TenureConfig, identity: Identity) {
  return computeDesiredAccess({
    identity,
    policy: config.policy,
    lifecycle: config.lifecycle,
    assignments: [],
    usernames: {},
    now: NOW,
    today: "2026-03-02",
  });
}

describe("roles that name entitlements by attribute", () => {
  it("grants the group a template or a lookup table names, with lineage saying which value chose it", async () => {
    const config = await policyOf([...SYSTEM, ...ROLES]);
    const sales = desired(config, person({ department: "Sales & Marketing", location: "London" }));
    expect(Object.keys(sales.systems.dir!.entitlements).sort()).toEqual(["dept-sales-marketing", "site-lon"]);
    expect(sales.systems.dir!.entitlements["dept-sales-marketing"]).toEqual([
      expect.objectContaining({
        kind: "role",
        role: "department-groups",
        derived: {
          attributes: { department: "Sales & Marketing" },
          rule: 'template "dept-{department|slug}"',
          location: expect.objectContaining({ file: "tenure.yaml", line: 16 }),
        },
      }),
    ]);
    // A value the table does not list gets the default; an empty department, no dept- group at all.
    const other = desired(config, person({ department: null, location: "Berlin" }));
    expect(Object.keys(other.systems.dir!.entitlements)).toEqual(["site-other"]);
    expect(other.systems.dir!.entitlements["site-other"]![0]).toMatchObject({
      derived: { attributes: { location: "Berlin" }, rule: "map on location (default)" },
    });
  });

  it("explains a derived group by the attribute value and the line of the grant", async () => {
    const config = await policyOf([...SYSTEM, ...ROLES]);
    const explained = explainAccess(
      {
        identity: person({ department: "Sales", location: "Paris" }),
        policy: config.policy,
        lifecycle: config.lifecycle,
        assignments: [],
        usernames: {},
        now: NOW,
        today: "2026-03-02",
      },
      { entitlement: "dir:dept-sales" },
    );
    expect(explained.lines.join("\n")).toContain(
      'dir:dept-sales is desired: granted by role department-groups (department "Sales", by template "dept-{department|slug}" at tenure.yaml:16)',
    );
  });

  it("keeps the old department's group through mover grace, and drops it after", async () => {
    const config = await policyOf([...SYSTEM, ...ROLES, "lifecycle:", "  moverGraceDays: 7"]);
    const moved = person(
      { department: "Support", location: "London" },
      {
        previousAttributes: workerAttributes({ department: "Sales", location: "London" }),
        attributesChangedAt: "2026-03-01T10:00:00.000Z",
      },
    );
    const during = desired(config, moved).systems.dir!.entitlements;
    expect(Object.keys(during).sort()).toEqual(["dept-sales", "dept-support", "site-lon"]);
    expect(during["dept-sales"]).toEqual([
      expect.objectContaining({
        kind: "mover-grace",
        from: expect.objectContaining({ derived: expect.anything() }),
      }),
    ]);
    const after = computeDesiredAccess({
      identity: moved,
      policy: config.policy,
      lifecycle: config.lifecycle,
      assignments: [],
      usernames: {},
      now: new Date("2026-03-09T10:00:00Z"),
      today: "2026-03-09",
    });
    expect(Object.keys(after.systems.dir!.entitlements).sort()).toEqual(["dept-support", "site-lon"]);
  });

  it("refuses createMissingGroups on a system whose connector cannot create groups, at file:line", async () => {
    const lines = [...SYSTEM.slice(0, 3), "    createMissingGroups: true", ...SYSTEM.slice(3)];
    const { errors } = await load(lines);
    expect(errors).toEqual([
      expect.objectContaining({
        line: 4,
        path: "systems.dir.createMissingGroups",
        message: expect.stringContaining("the sql connector cannot create groups"),
      }),
    ]);
    const config = await policyOf(SYSTEM);
    expect(config.policy.systems.dir!.createMissingGroups).toBe(false);
  });

  it("refuses a template or table that cannot work, at file:line", async () => {
    const broken = [
      ...SYSTEM,
      "roles:",
      "  bad:",
      "    grants:",
      "      - system: dir",
      "        entitlements:",
      '          - "dept-{departmnt|slug}"',
      '          - "dept-{department|slugify}"',
      "          - { fromAttribute: office, map: { A: a } }",
      "          - { fromAttribute: department }",
    ];
    const { errors } = await load(broken);
    const at = (line: number) => errors.filter((e) => e.line === line).map((e) => e.message);
    expect(at(16).join()).toContain("unknown attribute 'departmnt' in template — did you mean 'department'?");
    expect(at(17).join()).toContain('unknown filter "slugify" on department');
    expect(at(18).join()).toContain("expected an attribute name: one of employeeId");
    expect(at(19).join()).toContain("expected map entries or a default");
  });
});
