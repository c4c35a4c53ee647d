/**
 * The paged read of a campaign's population (store/review-population-repository.ts, a few identities at
 * a time) against the one-pass read it replaced (every identity, assignment and account read whole, then
 * grouped): the same subjects, candidates with their lineage and accounts, peer statistics and earlier
 * decisions, for everyone and for a subset, on SQLite and PostgreSQL.
 */
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { storeFactories, type TestStore } from "../../test/helpers/databases.js";
import { tempDir } from "../../test/helpers/workspace.js";
import type { Account, Assignment } from "../domain/access-types.js";
import { calculatorFor } from "../domain/desired-state.js";
import type { Identity, WorkerAttributes } from "../domain/identity-types.js";
import { isGone } from "../domain/lifecycle.js";
import { type CandidateItem, candidatesOf, createPeerStats, peerGroupOf } from "../domain/review-scope.js";
import { loadConfig } from "../policy/config-loader.js";
import type { TenureConfig } from "../policy/config-types.js";
import { accountRepository } from "../store/account-repository.js";
import { assignmentRepository } from "../store/assignment-repository.js";
import { openStore } from "../store/database.js";
import { identityRepository } from "../store/identity-repository.js";
import { reviewExclusionRepository } from "../store/review-exclusion-repository.js";
import { reviewPopulationRepository } from "../store/review-population-repository.js";
import { policyToday } from "./policy-today.js";
import { loadReviewAccess } from "./review-access.js";

const NOW = new Date("2026-12-04T09:00:00Z");

const YAML = `
sources:
  hr: { type: push, key: employeeId, timeZone: UTC }
lifecycle:
  moverGraceDays: 14
systems:
  erp:
    connector: manual
    account: { username: "{employeeId}" }
    config: { fulfiller: erp-ops@example.test }
  crm:
    connector: manual
    account: { username: "{employeeId}" }
    config: { fulfiller: crm-ops@example.test }
entitlements:
  erp:
    read: {}
    admin: { privileged: true }
    payments: {}
  crm:
    leads: {}
    export: {}
roles:
  accountant:
    when: "department == 'Finance'"
    grants: [{ system: erp, entitlements: [read] }]
  seller:
    when: "department == 'Sales'"
    grants: [{ system: crm, entitlements: [leads] }]
  erp-admin:
    grants: [{ system: erp, entitlements: [admin, read] }]
notify:
  email: { smtp: "smtp://127.0.0.1:2525", from: "Tenure <tenure@example.test>" }
`;

const DEPARTMENTS = ["Finance", "Sales", "IT"];
const TITLES = ["Analyst", "Lead", ""];

function person(n: number): Identity {
  const key = `e${String(n).padStart(3, "0")}`;
  const attributes: WorkerAttributes = {
    employeeId: key,
    givenName: key,
    familyName: "Test",
    displayName: `${key} Test`,
    email: `${key}@example.test`,
    department: DEPARTMENTS[n % 3]!,
    title: TITLES[Math.floor(n / 3) % 3] || null,
    location: null,
    costCenter: null,
    managerId: n === 0 ? null : "e000",
    employmentType: "employee",
    status: n % 17 === 5 ? "terminated" : "active",
    startDate: "2020-01-01",
    endDate: null,
    terminationDate: n % 17 === 5 ? "2026-11-01" : null,
  };
  const moved = n % 11 === 3;
  return {
    // Ids out of insertion order, so the stored order and the id order differ.
    id: `id-${String((n * 7) % 61).padStart(3, "0")}-${n}`,
    kind: n % 13 === 4 ? "service" : "human",
    source: "hr",
    sourceKey: key,
    state: n % 17 === 5 ? "terminated" : "active",
    attributes,
    employment: n % 9 === 2 ? 2 : 1,
    stateSince: "2020-01-01T00:00:00.000Z",
    createdAt: "2020-01-01T00:00:00.000Z",
    updatedAt: "2020-01-01T00:00:00.000Z",
    lastRecordId: null,
    previousAttributes: moved ? { ...attributes, department: "Sales", title: "Seller" } : null,
    attributesChangedAt: moved ? "2026-12-01T09:00:00.000Z" : null,
  };
}

/** What a candidate is, as plain data (its account by what it says, not by reference). */
function plain(c: CandidateItem) {
  return {
    ...c,
    account:
      c.account === null
        ? null
        : {
            system: c.account.system,
            username: c.account.username,
            entitlements: c.account.entitlements,
            lastUsedAt: c.account.lastUsedAt,
            managed: c.account.entitlements.map((e) => c.account!.isManaged(e)),
          },
  };
}

/** SQLite in a file: a read of everyone goes through the reader thread (store/review-population-reader.ts). */
async function sqliteFile(): Promise<TestStore> {
  const dir = await tempDir();
  const store = await openStore(`sqlite:${path.join(dir.dir, "t.db")}`);
  return {
    ...store,
    dispose: async () => {
      await store.close();
      await dir.dispose();
    },
  };
}

const stores: Array<[string, () => Promise<TestStore>]> = [
  ...(await storeFactories()),
  ["sqlite in a file", sqliteFile],
];

describe.each(stores)("a campaign's population read in pages on %s", (_kind, makeStore) => {
  let store: TestStore;
  let config: TenureConfig;
  let dir: { dir: string; dispose: () => Promise<void> };
  const people = Array.from({ length: 60 }, (_, n) => person(n));

  beforeAll(async () => {
    store = await makeStore();
    dir = await tempDir();
    await writeFile(path.join(dir.dir, "tenure.yaml"), YAML);
    config = await loadConfig(path.join(dir.dir, "tenure.yaml"), { env: {} });
    await identityRepository.upsertMany(store.db, people);
    const targets: Assignment["target"][] = [
      { role: "erp-admin" },
      { system: "erp", entitlement: "payments" },
      { system: "crm", entitlement: "export" },
      { system: "erp", entitlement: "read" },
    ];
    let a = 0;
    for (const [n, p] of people.entries()) {
      for (let k = 0; k < n % 4; k++) {
        await assignmentRepository.insert(
          store.db,
          {
            id: `as-${String(97 - a++).padStart(3, "0")}`,
            identityId: p.id,
            target: targets[(n + k) % targets.length]!,
            // Some of an earlier employment, some revoked, some not yet valid, some expired.
            employment: (n + k) % 7 === 0 ? p.employment + 1 : p.employment,
            validFrom: (n + k) % 8 === 1 ? "2027-01-01T00:00:00.000Z" : "2026-11-01T00:00:00.000Z",
            validUntil: (n + k) % 10 === 3 ? "2026-12-01T00:00:00.000Z" : null,
            reason: "test",
            approvedBy: "e000",
            revokedAt: (n + k) % 9 === 4 ? "2026-11-15T00:00:00.000Z" : null,
            requestId: k % 2 === 0 ? `req-${n}-${k}` : null,
          },
          NOW.toISOString(),
        );
      }
    }
    // The same entitlement assigned twice, the later id stored first: its lineage lists them in stored order.
    for (const id of ["as-z-twice", "as-a-twice"]) {
      await assignmentRepository.insert(
        store.db,
        {
          id,
          identityId: people[8]!.id,
          target: { system: "crm", entitlement: "export" },
          employment: people[8]!.employment,
          validFrom: "2026-11-01T00:00:00.000Z",
          validUntil: null,
          reason: "test",
          approvedBy: "e000",
          revokedAt: null,
          requestId: null,
        },
        NOW.toISOString(),
      );
    }
    const accounts: Account[] = [];
    for (const [n, p] of people.entries()) {
      const account = (
        system: string,
        username: string,
        entitlements: string[],
        enabled = true,
      ): Account => ({
        system,
        nativeId: null,
        username,
        identityId: p.id,
        enabled,
        attributes: {},
        entitlements,
        managedEntitlements: entitlements.filter((e) => e !== "payments"),
        managed: true,
        lastSeenAt: NOW.toISOString(),
        lastUsedAt: n % 5 === 0 ? null : `2026-0${1 + (n % 9)}-01T00:00:00.000Z`,
      });
      if (n % 6 !== 1)
        accounts.push(account("erp", p.sourceKey, n % 4 === 0 ? ["read", "payments"] : ["read"]));
      if (n % 3 === 1) accounts.push(account("crm", p.sourceKey, ["leads", "export"], n % 2 === 0));
      // A second account in the same system: the first one stored is the one items name.
      if (n % 10 === 7) accounts.push(account("erp", `${p.sourceKey}-2`, ["admin"]));
    }
    await accountRepository.upsertMany(store.db, accounts, NOW.toISOString());
  });
  afterAll(async () => {
    await store.dispose();
    await dir.dispose();
  });

  /** The one-pass read the paged one replaced: everything read whole, then grouped by identity. */
  async function onePass(identityIds?: readonly string[]) {
    const all = (await identityRepository.list(store.db, { limit: 10_000 })).filter((i) => !isGone(i.state));
    const subjects = identityIds === undefined ? all : all.filter((i) => identityIds.includes(i.id));
    const groups = new Set(subjects.map((i) => peerGroupOf(i.attributes)).filter((g) => g !== null));
    const everyone =
      identityIds === undefined
        ? all
        : [
            ...subjects,
            ...all.filter((i) => !subjects.includes(i) && groups.has(peerGroupOf(i.attributes) ?? "")),
          ];
    const assignments = await assignmentRepository.list(store.db);
    const exclusions = await reviewExclusionRepository.active(store.db);
    const holdings = await accountRepository.reviewHoldings(store.db);
    const calculator = calculatorFor(config.policy, config.lifecycle);
    const peers = createPeerStats();
    const out = new Map<string, CandidateItem[]>();
    for (const identity of everyone) {
      const { desired, roles } = calculator.computeWithRoles(
        {
          identity,
          assignments: assignments.filter((a) => a.identityId === identity.id),
          exclusions: exclusions.filter((e) => e.identityId === identity.id),
          usernames: {},
          now: NOW,
          today: policyToday(config, NOW),
        },
        { light: true },
      );
      const candidates = candidatesOf({
        policy: config.policy,
        desired,
        roles,
        accounts: holdings.filter((h) => h.identityId === identity.id),
        withRoles: true,
      });
      peers.add(
        peerGroupOf(identity.attributes),
        candidates.map((c) => c.accessKey),
      );
      if (subjects.includes(identity)) out.set(identity.id, candidates);
    }
    return { subjects: out, peers };
  }

  for (const pageSize of [1, 7, 5_000]) {
    it(`gives everyone's access as the one-pass read did, ${pageSize} at a time`, async () => {
      const expected = await onePass();
      const data = await loadReviewAccess(store.db, config, NOW, { withRoles: true, pageSize });
      const ids = data.subjects.map((s) => s.identity.id);
      expect(ids).toEqual([...expected.subjects.keys()].sort());
      expect(ids.length).toBeGreaterThan(40);
      let checked = 0;
      for (const s of data.subjects) {
        const want = expected.subjects.get(s.identity.id)!;
        expect(s.candidates.map(plain)).toEqual(want.map(plain));
        for (const c of s.candidates) {
          expect(data.peers.peersOf(s.group, c.accessKey)).toEqual(
            expected.peers.peersOf(s.group, c.accessKey),
          );
          checked++;
        }
      }
      expect(checked).toBeGreaterThan(100);
      for (const p of people.filter((i) => !isGone(i.state)))
        expect(data.bySourceKey.get(`hr|${p.sourceKey}`)?.id).toBe(p.id);
    });
  }

  it("gives a subset's access with its peers counted, and keeps only what the selection keeps", async () => {
    const subset = [people[3]!.id, people[10]!.id, people[44]!.id, people[5]!.id];
    const expected = await onePass(subset);
    const data = await loadReviewAccess(store.db, config, NOW, {
      identityIds: subset,
      withRoles: true,
      pageSize: 2,
      select: { candidate: (c) => c.access.kind === "entitlement" },
    });
    // people[5] has left: not a subject.
    expect(data.subjects.map((s) => s.identity.id)).toEqual([...expected.subjects.keys()].sort());
    for (const s of data.subjects) {
      const want = expected.subjects.get(s.identity.id)!.filter((c) => c.access.kind === "entitlement");
      expect(s.candidates.map(plain)).toEqual(want.map(plain));
      for (const c of s.candidates)
        expect(data.peers.peersOf(s.group, c.accessKey)).toEqual(
          expected.peers.peersOf(s.group, c.accessKey),
        );
    }
  });

  it("reads assignments whose values hold the separators of PostgreSQL's page text as they are stored", async () => {
    const p = people[1]!;
    const base = {
      identityId: p.id,
      employment: p.employment,
      validFrom: "2026-11-01T00:00:00.000Z",
      validUntil: null,
      approvedBy: null,
      revokedAt: null,
      requestId: null,
    };
    // U+001E ends an assignment in the text and U+001F a field; `=` starts a nullable field's value.
    const odd: Assignment[] = [
      { ...base, id: "as-odd-1", target: { system: "erp", entitlement: "a\u001fb" }, reason: "why\u001ehow" },
      {
        ...base,
        id: "as-odd-2",
        target: { system: "crm", entitlement: "=leads" },
        reason: "",
        approvedBy: "",
      },
      {
        ...base,
        id: "as-odd-3",
        target: { system: "erp", entitlement: "read" },
        reason: "\u001f",
        requestId: "=",
      },
    ];
    for (const a of odd) await assignmentRepository.insert(store.db, a, NOW.toISOString());
    try {
      const stored = (await assignmentRepository.list(store.db))
        .filter((a) => a.identityId === p.id && a.employment === p.employment)
        .map((a) => ({ ...a, endedAt: a.endedAt ?? null }));
      expect(stored.filter((a) => a.id.startsWith("as-odd-"))).toHaveLength(3);
      for (const parallel of [false, true]) {
        const pages = reviewPopulationRepository.pages(store.db, { limit: 5_000 }, { parallel });
        try {
          const rows = (await pages.next()) ?? [];
          const row = rows.find((r) => r.identity.id === p.id)!;
          const byId = (x: { id: string }, y: { id: string }) => (x.id < y.id ? -1 : 1);
          expect([...row.assignments].sort(byId)).toEqual([...stored].sort(byId));
        } finally {
          await pages.close();
        }
      }
    } finally {
      await store.db.deleteFrom("assignments").where("id", "like", "as-odd-%").execute();
    }
  });

  it("reads every page to the end when someone leaves while the pages are read", async () => {
    const stillHere = people
      .filter((p) => !isGone(p.state))
      .map((p) => p.id)
      .sort();
    // In the third page of five: not read yet when the first is handed over (one page is read ahead), and
    // pages follow it (a short page must not end the read).
    const leaver = stillHere[12]!;
    const pages = reviewPopulationRepository.pages(store.db, { limit: 5 }, { parallel: true });
    const seen: string[] = [];
    try {
      let rows = await pages.next();
      await store.db
        .updateTable("identities")
        .set({ state: "terminated" })
        .where("id", "=", leaver)
        .execute();
      for (; rows !== null; rows = await pages.next()) seen.push(...rows.map((r) => r.identity.id));
    } finally {
      await pages.close();
      await store.db.updateTable("identities").set({ state: "active" }).where("id", "=", leaver).execute();
    }
    expect(seen.sort()).toEqual(stillHere.filter((id) => id !== leaver));
  });
});
