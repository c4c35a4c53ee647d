// biome-ignore-all lint/suspicious/noTemplateCurlyInString: tenure.yaml text, where ${env:…} is a reference and {attr} a placeholder.
/**
 * Attribute-driven roles end to end, on SQLite and PostgreSQL, against a real OpenLDAP slapd: one role
 * grants each person the group named after their department (`dept-{department|slug}`); the first
 * grant of a department creates its group (`createMissingGroups: true`), a mover gets the new group and
 * loses the old one, and the operation's lineage names the department value.
 */
import { randomBytes } from "node:crypto";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { escapeFilterValue } from "../../src/connectors/ldap/ldap-escape.js";
import { ingestRecords } from "../../src/engine/ingest.js";
import { type ConnectorPool, connectorPool } from "../../src/engine/provision.js";
import { loadConfig } from "../../src/policy/config-loader.js";
import type { TenureConfig } from "../../src/policy/config-types.js";
import { operationRepository } from "../../src/store/operation-repository.js";
import { storeFactories, type TestStore } from "../helpers/databases.js";
import { findSlapd, SLAPD_INSTALL, type Slapd, SUFFIX, startSlapd } from "../helpers/slapd.js";
import { tempDir } from "../helpers/workspace.js";

const installed = (await findSlapd()) !== undefined;
if (!installed && process.env.CI === "true") {
  it("slapd is installed (required under CI=true)", () => {
    throw new Error(`slapd is not installed; install it: ${SLAPD_INSTALL}`);
  });
}
const NOW = new Date("2026-03-02T10:00:00Z");
const rand = () => randomBytes(4).toString("hex");

describe.skipIf(!installed).each(await storeFactories())(
  "groups named by department on %s",
  (_kind, makeStore) => {
    let slapd: Slapd;
    let store: TestStore;
    let config: TenureConfig;
    let pool: ConnectorPool;
    let groupsBase: string;
    let dispose: () => Promise<void>;

    beforeAll(async () => {
      slapd = await startSlapd();
      const label = rand();
      const people = `ou=people-${label},${SUFFIX}`;
      groupsBase = `ou=groups-${label},${SUFFIX}`;
      const admin = await slapd.admin();
      try {
        for (const dn of [people, groupsBase]) {
          await admin.add(dn, { objectClass: "organizationalUnit", ou: dn.slice(3, dn.indexOf(",")) });
        }
      } finally {
        await admin.unbind();
      }
      const dir = await tempDir("tenure-attr-roles-");
      dispose = dir.dispose;
      await writeFile(
        path.join(dir.dir, "tenure.yaml"),
        `
sources:
  hr: { type: push }
systems:
  directory:
    connector: ldap
    createMissingGroups: true
    account: { username: "{givenName}.{familyName}", attributes: { email: "{email}" } }
    config:
      url: ${slapd.url}
      bindDn: "${slapd.adminDn}"
      bindPassword: "\${env:LDAP_PASSWORD}"
      users: { base: "${people}", attributes: { email: mail } }
      groups: { base: "${groupsBase}" }
roles:
  department-groups:
    when: "employmentType == 'employee'"
    grants:
      - system: directory
        entitlements: ["dept-{department|slug}"]
`,
      );
      config = await loadConfig(path.join(dir.dir, "tenure.yaml"), {
        env: { LDAP_PASSWORD: slapd.adminPassword },
      });
      store = await makeStore();
      pool = connectorPool(config);
    });
    afterAll(async () => {
      await pool?.closeAll();
      await store?.dispose();
      await slapd?.stop();
      await dispose?.();
    });

    const members = async (group: string): Promise<string[] | undefined> => {
      const admin = await slapd.admin();
      try {
        const { searchEntries } = await admin.search(groupsBase, {
          filter: `(cn=${escapeFilterValue(group)})`,
        });
        const entry = searchEntries[0];
        if (entry === undefined) return undefined;
        return [entry.member].flat().map(String);
      } finally {
        await admin.unbind();
      }
    };
    const push = (department: string) =>
      ingestRecords(store, config, {
        source: "hr",
        rows: [
          {
            employeeId: "E1",
            givenName: "Ada",
            familyName: "Lovelace",
            email: "ada@example.test",
            department,
            employmentType: "employee",
            startDate: "2026-01-05",
          },
        ],
        attributeNames: true,
        actor: "test",
        now: NOW,
        connectors: pool,
      });

    it("creates the department's group on the first grant, and moves a mover to the new one", async () => {
      expect(await members("dept-sales-marketing")).toBeUndefined();
      const joined = await push("Sales & Marketing");
      expect(joined.operations).toMatchObject({ queued: 2, succeeded: 2 });
      const ada = `uid=ada.lovelace,ou=people-`;
      expect((await members("dept-sales-marketing"))?.some((m) => m.startsWith(ada))).toBe(true);
      const identityId = joined.results[0]!.identityId!;
      const [grant] = (await operationRepository.list(store.db, { identityId })).filter(
        (o) => o.kind === "grant",
      );
      expect(grant).toMatchObject({ entitlement: "dept-sales-marketing", state: "succeeded" });
      expect(grant!.lineage[0]).toMatchObject({
        kind: "role",
        role: "department-groups",
        derived: {
          attributes: { department: "Sales & Marketing" },
          rule: 'template "dept-{department|slug}"',
        },
      });

      const moved = await push("Support");
      expect(moved.operations).toMatchObject({ queued: 2, succeeded: 2 });
      expect((await members("dept-support"))?.some((m) => m.startsWith(ada))).toBe(true);
      // The old group stays (it is the directory's), without Ada: groupOfNames keeps its placeholder.
      expect((await members("dept-sales-marketing"))?.some((m) => m.startsWith(ada))).toBe(false);
    });
  },
);
