// biome-ignore-all lint/suspicious/noTemplateCurlyInString: tenure.yaml text, where ${env:…} is a reference and {attr} a placeholder.
/**
 * Dormant accounts end to end against a real OpenLDAP slapd with the lastbind overlay: accounts made by
 * Tenure from an HR push, users binding (authTimestamp), reconcile reading last use into the store, a
 * notice for accounts unused past `afterDays`, notices cleared by a later bind, and at disable_at the
 * account disabled in the directory by the engine (its bind refused) — held so the next plan does not
 * enable it again, until an administrator releases it. `now` is a parameter: the check runs weeks
 * ahead of the directory's own clock.
 */
import { randomBytes } from "node:crypto";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { Attribute, Change, Client, InvalidCredentialsError } from "ldapts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { queryEvents } from "../../src/audit/ledger.js";
import { enqueuePlan } from "../../src/engine/enqueue.js";
import { ingestRecords } from "../../src/engine/ingest.js";
import { applyQueued, computeProvisionPlan, connectorPool } from "../../src/engine/provision.js";
import { reconcileSystems } from "../../src/engine/reconcile.js";
import { loadConfig } from "../../src/policy/config-loader.js";
import type { TenureConfig } from "../../src/policy/config-types.js";
import { accountRepository } from "../../src/store/account-repository.js";
import { openStore, type Store } from "../../src/store/database.js";
import { releaseDormant, runDormantCheck } from "../../src/workflows/dormant-accounts.js";
import {
  enableLastBind,
  findSlapd,
  SLAPD_INSTALL,
  type Slapd,
  SUFFIX,
  startSlapd,
} from "../helpers/slapd.js";
import { tempDir } from "../helpers/workspace.js";

const installed = (await findSlapd()) !== undefined;
if (!installed && process.env.CI === "true") {
  it("slapd is installed (required under CI=true)", () => {
    throw new Error(`slapd is not installed; install it: ${SLAPD_INSTALL}`);
  });
}

const DAY = 86_400_000;
// The directory stamps binds with the real clock; the check's `now` moves ahead of it.
const T0 = Date.now();
const at = (days: number) => new Date(T0 + days * DAY);

describe.skipIf(!installed)("dormant accounts against slapd with the lastbind overlay", () => {
  let slapd: Slapd;
  let store: Store;
  let config: TenureConfig;
  let people: string;
  let dir: { dir: string; dispose: () => Promise<void> };
  const password = (uid: string) => `pw-${uid}-${T0}`;

  beforeAll(async () => {
    slapd = await startSlapd();
    await enableLastBind(slapd);
    const label = randomBytes(4).toString("hex");
    people = `ou=people-${label},${SUFFIX}`;
    const groups = `ou=groups-${label},${SUFFIX}`;
    const admin = await slapd.admin();
    try {
      for (const dn of [people, groups])
        await admin.add(dn, { objectClass: "organizationalUnit", ou: dn.slice(3, dn.indexOf(",")) });
    } finally {
      await admin.unbind();
    }
    dir = await tempDir("tenure-dormant-");
    await writeFile(
      path.join(dir.dir, "tenure.yaml"),
      `
sources:
  hr: { type: push }
systems:
  directory:
    connector: ldap
    owner: olga@example.test
    account: { username: "{employeeId}", attributes: { email: "{email}" } }
    config:
      url: ${slapd.url}
      bindDn: "${slapd.adminDn}"
      bindPassword: "\${env:LDAP_PASSWORD}"
      users: { base: "${people}", attributes: { email: mail } }
      groups: { base: "${groups}" }
      lastUsedAttribute: authTimestamp
roles:
  staff:
    when: "employmentType == 'employee'"
    grants: [{ system: directory }]
reviews:
  dormant:
    directory: { afterDays: 30, noticeDays: 7 }
notify:
  email: { smtp: "smtp://127.0.0.1:2525", from: "Tenure <tenure@example.test>" }
`,
    );
    config = await loadConfig(path.join(dir.dir, "tenure.yaml"), {
      env: { LDAP_PASSWORD: slapd.adminPassword },
    });
    store = await openStore("sqlite::memory:");
    const person = (key: string, extra: Record<string, string> = {}) => ({
      employeeId: key,
      givenName: key,
      familyName: "Test",
      email: `${key}@example.test`,
      employmentType: "employee",
      startDate: "2026-01-05",
      ...extra,
    });
    await ingestRecords(store, config, {
      source: "hr",
      rows: [person("boss"), person("ada", { managerId: "boss" }), person("bob", { managerId: "boss" })],
      attributeNames: true,
      actor: "test",
      now: at(0),
    });
    // Passwords set by hand, so the people can bind (what they would do to use the directory).
    const setter = await slapd.admin();
    try {
      for (const uid of ["boss", "ada", "bob"]) {
        await setter.modify(
          `uid=${uid},${people}`,
          new Change({
            operation: "replace",
            modification: new Attribute({ type: "userPassword", values: [password(uid)] }),
          }),
        );
      }
    } finally {
      await setter.unbind();
    }
  });
  afterAll(async () => {
    await store?.close();
    await slapd?.stop();
    await dir?.dispose();
  });

  const bind = async (uid: string): Promise<"ok" | "refused"> => {
    const client = new Client({ url: slapd.url, timeout: 5000 });
    try {
      await client.bind(`uid=${uid},${people}`, password(uid));
      return "ok";
    } catch (err) {
      if (err instanceof InvalidCredentialsError) return "refused";
      throw err;
    } finally {
      await client.unbind().catch(() => {});
    }
  };
  const reconcile = async (days: number) => {
    const pool = connectorPool(config);
    try {
      const run = await reconcileSystems(store, config, ["directory"], pool, {
        now: () => at(days),
        actor: "test",
      });
      expect(run.failed).toBe(0);
    } finally {
      await pool.closeAll();
    }
  };
  const stored = async (uid: string) =>
    (await accountRepository.findMany(store.db, [{ system: "directory", username: uid }]))[0]!;
  const check = (days: number) => runDormantCheck({ db: store.db, config, now: at(days), actor: "test" });
  const adaOps = async (days: number) =>
    (await computeProvisionPlan(store, config, { now: at(days) })).operations
      .filter((op) => op.username === "ada")
      .map((op) => op.kind);

  it("reads the lastbind overlay's authTimestamp into the store at reconcile", async () => {
    expect(await bind("ada")).toBe("ok");
    expect(await bind("boss")).toBe("ok");
    await reconcile(0);
    const ada = await stored("ada");
    expect(ada.enabled).toBe(true);
    // Generalized time has whole seconds.
    expect(Math.abs(Date.parse(ada.lastUsedAt!) - Date.now())).toBeLessThan(60_000);
    expect((await stored("bob")).lastUsedAt).toBeNull();
  });

  it("notices accounts unused for afterDays, and clears those used again", async () => {
    expect((await check(29)).noticed).toEqual([]);
    const noticed = await check(31);
    // bob never bound: counted from when Tenure made the account (the directory reports use since then).
    expect(noticed.noticed.map((n) => [n.username, n.to]).sort()).toEqual([
      ["ada", "boss@example.test"],
      ["bob", "boss@example.test"],
      ["boss", "olga@example.test"],
    ]);
    // authTimestamp has whole seconds: the second bind of boss must fall in a later one.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    expect(await bind("bob")).toBe("ok");
    expect(await bind("boss")).toBe("ok");
    await reconcile(32);
    const cleared = await check(32);
    expect(cleared.cleared.map((c) => [c.username, c.reason]).sort()).toEqual([
      ["bob", "used"],
      ["boss", "used"],
    ]);
  });

  it("disables the account in the directory at disable_at, through the engine, and keeps it disabled", async () => {
    expect((await check(37)).disabled).toEqual([]);
    const due = await check(38);
    expect(due.disabled.map((d) => d.username)).toEqual(["ada"]);
    expect(due.queued).toBe(1);
    const applied = await applyQueued(store, config, { now: () => at(38), actor: "test" });
    expect(applied.summary.succeeded).toBe(1);
    expect(await bind("ada")).toBe("refused");
    expect(await bind("bob")).toBe("ok");

    const audit = await queryEvents(store.db, { action: "account.dormant_disabled" });
    expect(audit.map((e) => e.details)).toEqual([
      expect.objectContaining({ username: "ada", policy: "reviews.dormant.directory", queued: true }),
    ]);
    const succeeded = await queryEvents(store.db, { action: "operation.succeeded" });
    expect(succeeded.at(-1)?.details).toMatchObject({
      kind: "disable",
      username: "ada",
      reason: expect.stringMatching(/unused since .*reviews\.dormant\.directory/),
    });

    // The next plan, after reading the directory, leaves ada disabled.
    await reconcile(39);
    expect((await stored("ada")).enabled).toBe(false);
    expect(await adaOps(39)).toEqual([]);
    const quiet = await check(40);
    expect([quiet.noticed, quiet.disabled, quiet.cleared, quiet.queued]).toEqual([[], [], [], 0]);
  });

  it("enables the account again once an administrator releases it", async () => {
    await releaseDormant({ db: store.db, now: at(41), actor: "cli:admin" }, "directory", "ada");
    const plan = await computeProvisionPlan(store, config, { now: at(41) });
    expect(plan.operations.filter((op) => op.username === "ada").map((op) => op.kind)).toEqual(["enable"]);
    await enqueuePlan(store, plan.operations, {
      now: at(41),
      actor: "test",
      lifecycle: config.lifecycle,
      systems: config.policy.systems,
    });
    await applyQueued(store, config, { now: () => at(41), actor: "test" });
    expect(await bind("ada")).toBe("ok");
  });
});
