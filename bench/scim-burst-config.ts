/**
 * The tenure.yaml of the SCIM burst benches (scim-burst.bench.ts, scim-burst-growth.ts): a push source
 * the SCIM server feeds and, with a slapd, one OpenLDAP directory every person gets an account and one
 * group in. No mass-change stop: a burst of creates is not one.
 */
import { type Slapd, SUFFIX } from "../test/helpers/slapd.js";

export function scimBurstYaml(
  database: string,
  slapd: Slapd | undefined,
  clients: number,
  pushConcurrency?: number,
): string {
  const directory =
    slapd === undefined
      ? ""
      : `systems:
  directory:
    connector: ldap
    # As many writes at once as the floor's connections and the clients.
    concurrency: ${clients}
    account: { username: "u{employeeId}" }
    config:
      url: ${slapd.url}
      bindDn: ${slapd.adminDn}
      bindPassword: ${slapd.adminPassword}
      users: { base: "ou=people,${SUFFIX}", attributes: { displayName: displayName, email: mail } }
      groups: { base: "ou=groups,${SUFFIX}" }
entitlements:
  directory:
    everyone: { displayName: Everyone }
roles:
  staff:
    when: "true"
    grants: [ { system: directory, entitlements: [everyone] } ]
`;
  return `database: ${database}
sources:
  idp: { type: push, key: employeeId, timeZone: UTC }
server:
  scim: { source: idp, key: externalId }${pushConcurrency === undefined ? "" : `\n  pushConcurrency: ${pushConcurrency}`}
lifecycle:
  massChangeThreshold: { percent: 100, minimum: 1000000 }
${directory}`;
}

/** The directory's group `everyone` the config grants every person (a fresh slapd has none). */
export async function addEveryoneGroup(slapd: Slapd): Promise<void> {
  const admin = await slapd.admin();
  await admin.add(`cn=everyone,ou=groups,${SUFFIX}`, {
    objectClass: "groupOfNames",
    cn: "everyone",
    member: slapd.adminDn,
  });
  await admin.unbind();
}
