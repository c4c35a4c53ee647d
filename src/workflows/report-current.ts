import type { Identity } from "../domain/identity-types.js";
import type { TenureConfig } from "../policy/config-types.js";
import { accountRepository } from "../store/account-repository.js";
import { identityRepository } from "../store/identity-repository.js";
import type { Store } from "../store/store-types.js";
import { columns, type Report, type ReportOptions, type ReportRow } from "./report-types.js";

/**
 * Reports of the present, read from what reconcile and applied operations last recorded of each system:
 * leavers who still have an enabled account (must be empty), accounts nobody owns, and who holds
 * privileged access. Point-in-time answers for a past date come from the ledger (`tenure audit`).
 */

function base(
  name: string,
  title: string,
  description: string,
  now: Date,
): Pick<Report, "name" | "title" | "description" | "from" | "to" | "generatedAt"> {
  return { name, title, description, from: null, to: null, generatedAt: now.toISOString() };
}

/** Every enabled, present account whose identity is terminated. Any row is an alert. */
export async function terminatedEnabledReport(
  store: Store,
  _config: TenureConfig,
  options: ReportOptions,
): Promise<Report> {
  const found = await accountRepository.enabledOfTerminated(store.db, Number.MAX_SAFE_INTEGER);
  const people = await identityRepository.findByIds(store.db, [
    ...new Set(found.rows.map((r) => r.identityId)),
  ]);
  const rows: ReportRow[] = found.rows.map((r) => {
    const p = people.get(r.identityId);
    return {
      employeeId: p?.sourceKey ?? null,
      name: p?.attributes.displayName ?? r.identityId,
      terminatedSince: p?.stateSince ?? null,
      system: r.system,
      username: r.username,
    };
  });
  return {
    ...base(
      "terminated-enabled",
      "Terminated identities with an enabled account",
      "Leavers who still have an enabled account in a connected system, as last read from it. This list must be empty; every row is an alert.",
      options.now,
    ),
    columns: columns([
      ["employeeId", "Employee id"],
      ["name", "Name"],
      ["terminatedSince", "Terminated since"],
      ["system", "System"],
      ["username", "Account"],
    ]),
    rows,
    summary: { identities: found.identities, accounts: rows.length },
    alerts: rows.map(
      (r) =>
        `${r.name} (${r.employeeId ?? "?"}), terminated ${r.terminatedSince}, still has enabled account ${r.username} in ${r.system}`,
    ),
  };
}

/** Accounts correlated to no identity: nobody's access, so nobody reviews or removes it. */
export async function orphanAccountsReport(
  store: Store,
  _config: TenureConfig,
  options: ReportOptions,
): Promise<Report> {
  const orphans = (await accountRepository.list(store.db, { orphansOnly: true })).filter(
    (a) => (a.vanishedAt ?? null) === null,
  );
  const rows: ReportRow[] = orphans.map((a) => ({
    system: a.system,
    username: a.username,
    enabled: a.enabled,
    entitlements: a.entitlements.join("; "),
    lastSeenAt: a.lastSeenAt,
    lastUsedAt: a.lastUsedAt,
  }));
  const bySystem = new Map<string, number>();
  for (const a of orphans) bySystem.set(a.system, (bySystem.get(a.system) ?? 0) + 1);
  return {
    ...base(
      "orphan-accounts",
      "Orphan accounts",
      "Accounts found in the connected systems that belong to no identity Tenure knows, as last read by reconcile.",
      options.now,
    ),
    columns: columns([
      ["system", "System"],
      ["username", "Account"],
      ["enabled", "Enabled"],
      ["entitlements", "Entitlements"],
      ["lastSeenAt", "Last seen"],
      ["lastUsedAt", "Last used"],
    ]),
    rows,
    summary: {
      accounts: rows.length,
      enabled: orphans.filter((a) => a.enabled).length,
      bySystem: [...bySystem].map(([s, n]) => `${s}: ${n}`).join("; "),
    },
    alerts: [],
  };
}

/** Every holder of an entitlement declared `privileged`, as the systems last reported it. */
export async function privilegedAccessReport(
  store: Store,
  config: TenureConfig,
  options: ReportOptions,
): Promise<Report> {
  const rows: ReportRow[] = [];
  const entitlements = config.policy.entitlements;
  const privilegedSystems = Object.keys(entitlements).filter((s) =>
    Object.values(entitlements[s] ?? {}).some((e) => e.privileged),
  );
  const holders = new Map<string, Identity>();
  const accounts = [];
  for (const system of privilegedSystems) {
    for (const a of await accountRepository.list(store.db, { system })) {
      if ((a.vanishedAt ?? null) !== null) continue;
      const held = a.entitlements.filter((key) => entitlements[system]?.[key]?.privileged === true);
      if (held.length > 0) accounts.push({ account: a, held });
    }
  }
  const ids = [
    ...new Set(accounts.map((a) => a.account.identityId).filter((id): id is string => id !== null)),
  ];
  for (const [id, identity] of await identityRepository.findByIds(store.db, ids)) holders.set(id, identity);
  for (const { account, held } of accounts) {
    const who = account.identityId === null ? undefined : holders.get(account.identityId);
    for (const key of held) {
      rows.push({
        employeeId: who?.sourceKey ?? null,
        name: who?.attributes.displayName ?? null,
        state: who?.state ?? "orphan",
        system: account.system,
        username: account.username,
        entitlement: key,
        grantedBy: account.managedEntitlements.includes(key) ? "Tenure" : "found in the system",
        accountEnabled: account.enabled,
        lastUsedAt: account.lastUsedAt,
      });
    }
  }
  rows.sort(
    (a, b) =>
      String(a.system).localeCompare(String(b.system)) ||
      String(a.entitlement).localeCompare(String(b.entitlement)) ||
      String(a.username).localeCompare(String(b.username)),
  );
  const notManaged = rows.filter((r) => r.grantedBy !== "Tenure").length;
  return {
    ...base(
      "privileged-access",
      "Privileged access holders",
      "Who holds each entitlement declared privileged, as the systems last reported it, and whether Tenure granted it or it was found there.",
      options.now,
    ),
    columns: columns([
      ["employeeId", "Employee id"],
      ["name", "Name"],
      ["state", "State"],
      ["system", "System"],
      ["username", "Account"],
      ["entitlement", "Entitlement"],
      ["grantedBy", "Granted by"],
      ["accountEnabled", "Account enabled"],
      ["lastUsedAt", "Last used"],
    ]),
    rows,
    summary: {
      holdings: rows.length,
      holders: new Set(rows.map((r) => `${r.system}/${r.username}`)).size,
      notGrantedByTenure: notManaged,
    },
    alerts: rows
      .filter((r) => r.state === "terminated" && r.accountEnabled === true)
      .map(
        (r) =>
          `${r.name} (${r.employeeId}) is terminated and still holds privileged ${r.entitlement} in ${r.system}`,
      ),
  };
}
