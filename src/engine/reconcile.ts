import { randomUUID } from "node:crypto";
import { appendEvents } from "../audit/ledger.js";
import type { Connector, Account as ConnectorAccount } from "../connectors/connector-types.js";
import type { Account, Policy, SystemDef } from "../domain/access-types.js";
import type { Identity } from "../domain/identity-types.js";
import { compileTemplate, toUsername } from "../domain/username-template.js";
import { notifyConnectorUnreachable } from "../notify/notification-enqueue.js";
import type { TenureConfig } from "../policy/config-types.js";
import { toInstant } from "../shared/instant.js";
import { accountLinkRepository, accountRepository } from "../store/account-repository.js";
import type { Store } from "../store/database.js";
import { identityRepository } from "../store/identity-repository.js";
import { writeAccounts } from "./account-journal.js";
import { recordConfigInForce } from "./config-versions.js";
import { rulesRead, type SodScanResult, scanSod } from "./sod-scan.js";

export interface ReconcileReport {
  system: string;
  accounts: number;
  correlated: number;
  /** Accounts that belong to no identity. */
  orphans: Array<{ username: string; enabled: boolean; entitlements: string[] }>;
  /** Accounts newly correlated to an identity by the correlation rule (adopted). */
  adopted: Array<{ username: string; identityId: string }>;
  /** Accounts Tenure managed that the system no longer lists. */
  vanished: string[];
  /** Entitlements present that Tenure did not grant, per account. */
  unmanagedEntitlements: Array<{ username: string; entitlement: string }>;
  /** Entitlements Tenure granted that are gone from the system. */
  missingEntitlements: Array<{ username: string; entitlement: string }>;
  policy: { drift: SystemDef["drift"]; orphans: SystemDef["orphans"] };
  /**
   * False for a system whose connector cannot read accounts (`manual`): nothing was read or changed,
   * and the counts are of the accounts Tenure recorded itself (when its tasks were done).
   */
  read: boolean;
}

/** What became of one system in a reconcile run of several: its report, or why it could not be read. */
export type ReconcileOutcome =
  | ({ outcome: "reconciled" } & ReconcileReport)
  | { system: string; outcome: "failed"; error: string };

/** A reconcile run over several systems: one outcome per system, in the order asked for. */
export interface ReconcileRun {
  systems: ReconcileOutcome[];
  /** How many systems failed; the run as a whole failed when this is not 0. */
  failed: number;
  /** The separation-of-duties scan that followed, when a rule names an entitlement of a system read. */
  sod?: SodScanResult;
}

/**
 * Reconciles each named system in turn ({@link reconcileSystem}), going on past a system that fails:
 * a system that cannot be reached or read is recorded as `failed` with the reason (connector messages
 * are free of secrets), queues a `connector.unreachable` notification (throttled per system and window,
 * as the scheduler's reconcile job does), and changes nothing of its own; every other system is still
 * reconciled. Never throws for one system's failure; `connectors` opens them (its owner closes them).
 */
export async function reconcileSystems(
  store: Store,
  config: TenureConfig,
  systems: readonly string[],
  connectors: { get(system: string): Connector },
  options: { now: () => Date; actor: string },
): Promise<ReconcileRun> {
  const run: ReconcileRun = { systems: [], failed: 0 };
  await recordConfigInForce(store, config, options.now(), options.actor);
  for (const system of systems) {
    const now = options.now();
    try {
      const report = await reconcileSystem(store, config.policy, system, connectors.get(system), {
        now,
        actor: options.actor,
      });
      run.systems.push({ outcome: "reconciled", ...report });
    } catch (err) {
      const error = err instanceof Error ? err.message : String(err);
      run.systems.push({ system, outcome: "failed", error });
      run.failed++;
      await store.db
        .transaction()
        .execute((trx) => notifyConnectorUnreachable(trx, system, error, config, now));
    }
  }
  // What reconcile found is effective access (someone added to a group by hand counts): when a rule
  // names an entitlement of a system just read, everyone is scanned again.
  const read = run.systems.filter((s) => s.outcome === "reconciled").map((s) => s.system);
  if (read.some((system) => rulesRead(config, system))) {
    run.sod = await scanSod(store, config, { now: options.now(), actor: options.actor });
  }
  return run;
}

/** How an identity is recognised in a system's accounts: the value each side contributes. */
function identityKeys(
  system: SystemDef,
  identities: readonly Identity[],
  links: Map<string, string>,
): Map<string, string> {
  const byValue = new Map<string, string>();
  if (system.correlation.identity === "username") {
    const template = compileTemplate(system.account.username);
    for (const i of identities) {
      const value = links.get(i.id) ?? toUsername(template.render(i.attributes));
      if (value) byValue.set(value.toLowerCase(), i.id);
    }
  } else {
    const attr = system.correlation.identity;
    for (const i of identities) {
      const value = i.attributes[attr];
      if (value) byValue.set(value.toLowerCase(), i.id);
    }
  }
  return byValue;
}

/**
 * Reads every account and membership of one system, correlates accounts to identities (allocated
 * links first, then the system's correlation rule), and stores the result as the actual state that
 * the next plan is made against. Reports orphans and drift; it never writes to the system: whether
 * drift is reverted and orphans disabled is decided by the system's policy in the next plan.
 *
 * A system whose connector cannot read accounts (`describe().readsAccounts` false: no API) is not read:
 * an empty read would report every account as vanished. Its report (`read: false`) counts the accounts
 * Tenure recorded, and nothing is written, not even a reconcile run.
 */
export async function reconcileSystem(
  store: Store,
  policy: Policy,
  systemName: string,
  connector: Connector,
  options: { now: Date; actor: string },
): Promise<ReconcileReport> {
  const system = policy.systems[systemName];
  if (system === undefined) throw new Error(`no system named ${systemName}`);
  const at = options.now.toISOString();
  const { db } = store;
  if (!connector.describe().readsAccounts)
    return unreadReport(systemName, system, await accountRepository.list(db, { system: systemName }));
  const read: ConnectorAccount[] = await connector.listAccounts();

  const [identities, linkRows, known] = await Promise.all([
    identityRepository.list(db),
    accountLinkRepository.list(db, { system: systemName }),
    accountRepository.list(db, { system: systemName }),
  ]);
  const linkByIdentity = new Map(linkRows.map((l) => [l.identityId, l.username]));
  const identityByLink = new Map(linkRows.map((l) => [l.username, l.identityId]));
  const knownByUsername = new Map(known.map((a) => [a.username, a]));
  const byValue = identityKeys(system, identities, linkByIdentity);

  const report = emptyReport(systemName, system, read.length, true);
  const newLinks: Array<{ identityId: string; system: string; username: string }> = [];
  const accounts: Account[] = read.map((r) => {
    const before = knownByUsername.get(r.username);
    let identityId = identityByLink.get(r.username) ?? before?.identityId ?? null;
    if (identityId === null) {
      const value =
        system.correlation.account === "username" ? r.username : r.attributes[system.correlation.account];
      const match = value ? byValue.get(value.toLowerCase()) : undefined;
      // An identity already linked to another account in this system is not given a second one.
      if (match !== undefined && !linkByIdentity.has(match)) {
        identityId = match;
        report.adopted.push({ username: r.username, identityId: match });
        newLinks.push({ identityId: match, system: systemName, username: r.username });
        linkByIdentity.set(match, r.username);
      }
    }
    const managedBefore = new Set(before?.managedEntitlements ?? []);
    const present = new Set(r.entitlements);
    const managedEntitlements = [...managedBefore].filter((e) => present.has(e));
    if (identityId === null) {
      report.orphans.push({ username: r.username, enabled: r.enabled, entitlements: r.entitlements });
    } else {
      report.correlated++;
      for (const e of r.entitlements) {
        if (!managedBefore.has(e))
          report.unmanagedEntitlements.push({ username: r.username, entitlement: e });
      }
      for (const e of managedBefore) {
        if (!present.has(e)) report.missingEntitlements.push({ username: r.username, entitlement: e });
      }
    }
    return {
      system: systemName,
      nativeId: r.nativeId,
      username: r.username,
      identityId,
      enabled: r.enabled,
      attributes: r.attributes,
      entitlements: r.entitlements,
      // Tenure keeps the record of what it granted even when someone removed it out of band:
      // that is how the next plan tells drift from a change of policy.
      managedEntitlements:
        identityId === null ? [] : [...new Set([...managedEntitlements, ...managedBefore])],
      managed: identityId !== null,
      vanishedAt: null,
      lastSeenAt: at,
      // As the target stores it (a SQL timestamp, epoch seconds…): read into an instant, or unknown.
      lastUsedAt: toInstant(r.lastUsedAt),
      // Whose password Tenure set stays known while the account belongs to the same identity.
      credentialEmployment:
        before !== undefined && before.identityId === identityId
          ? (before.credentialEmployment ?? null)
          : null,
    };
  });
  const present = new Set(accounts.map((a) => a.username));
  report.vanished = known.filter((a) => a.managed && !present.has(a.username)).map((a) => a.username);

  await db.transaction().execute(async (trx) => {
    // A vanished managed account keeps its row, marked, so the planner can tell an account deleted
    // out of band (drift) from a joiner who never had one.
    const vanished = report.vanished.flatMap((username) => {
      const gone = knownByUsername.get(username);
      return gone ? [{ ...gone, vanishedAt: gone.vanishedAt ?? at }] : [];
    });
    // Every other row of the system is one the system no longer lists. Each row that changed is
    // journalled (account-journal.ts): an unchanged reconcile appends only its summary below.
    await writeAccounts(
      trx,
      {
        upsert: [...accounts, ...vanished],
        remove: { system: systemName, keep: new Set([...present, ...report.vanished]) },
      },
      { now: options.now, actor: options.actor, cause: "reconcile" },
    );
    await accountLinkRepository.insertMany(trx, newLinks, at);
    const summary = {
      accounts: report.accounts,
      correlated: report.correlated,
      orphans: report.orphans.length,
      adopted: report.adopted.length,
      vanished: report.vanished.length,
      unmanagedEntitlements: report.unmanagedEntitlements.length,
      missingEntitlements: report.missingEntitlements.length,
    };
    await trx
      .insertInto("reconcile_runs")
      .values({
        id: randomUUID(),
        system: systemName,
        started_at: at,
        finished_at: at,
        summary: JSON.stringify(summary),
      })
      .execute();
    await appendEvents(trx, [
      {
        time: at,
        actor: options.actor,
        action: "reconcile.completed",
        subject: `system:${systemName}`,
        details: summary,
      },
    ]);
  });
  return report;
}

/** A report with no findings yet. */
function emptyReport(name: string, system: SystemDef, accounts: number, read: boolean): ReconcileReport {
  return {
    system: name,
    accounts,
    correlated: 0,
    orphans: [],
    adopted: [],
    vanished: [],
    unmanagedEntitlements: [],
    missingEntitlements: [],
    policy: { drift: system.drift, orphans: system.orphans },
    read,
  };
}

/** The report of a system that cannot be read: its recorded accounts, no findings. */
function unreadReport(name: string, system: SystemDef, recorded: readonly Account[]): ReconcileReport {
  const present = recorded.filter((a) => !a.vanishedAt);
  return {
    ...emptyReport(name, system, present.length, false),
    correlated: present.filter((a) => a.identityId !== null).length,
  };
}
