import { queryEvents } from "../audit/ledger.js";
import type { TenureConfig } from "../policy/config-types.js";
import { accountRepository } from "../store/account-repository.js";
import type { Store } from "../store/database.js";
import { identityRepository } from "../store/identity-repository.js";
import { operationRepository } from "../store/operation-repository.js";
import { type LastReconcile, lastReconcileBySystem } from "./access-queries.js";

/** How long a mass-change stop stays on the dashboard when nobody confirms it. */
const STOP_SHOWN_DAYS = 7;
/** How many leavers the dashboard names (the count is always whole). */
const LEAVERS_NAMED = 25;

export interface MassChangeStop {
  seq: number;
  time: string;
  actor: string;
  run: string;
  planHash: string;
  exceeded: Array<{ kind: string; name: string; disable: number; delete: number; total: number }>;
}

/** The console's first page: the state of the installation in one read. */
export interface Dashboard {
  generatedAt: string;
  identities: { total: number; byState: Record<string, number> };
  /** Terminated identities that still have an enabled account somewhere: should be zero. */
  leavers: {
    withEnabledAccounts: number;
    items: Array<{
      id: string;
      sourceKey: string;
      displayName: string;
      state: string;
      accounts: Array<{ system: string; username: string }>;
    }>;
  };
  operations: { pending: number; failed: number; dead: number; byState: Record<string, number> };
  systems: Array<{
    name: string;
    connector: string;
    owner: string | null;
    lastReconcile: LastReconcile | null;
  }>;
  /** Runs stopped by mass-change protection in the last week whose plan nobody has confirmed. */
  massChangeStops: MassChangeStop[];
}

/**
 * What the dashboard shows, read from the store (no system is contacted: live health is the systems
 * page's, which may wait on a slow system). Counts are whole; lists are capped.
 */
export async function dashboardOf(
  store: Pick<Store, "db">,
  config: Pick<TenureConfig, "policy">,
  now: Date,
): Promise<Dashboard> {
  const names = Object.keys(config.policy.systems);
  const since = new Date(now.getTime() - STOP_SHOWN_DAYS * 86_400_000).toISOString();
  const [byState, operations, leavers, reconciled, stops, ...confirmations] = await Promise.all([
    identityRepository.countByState(store.db),
    operationRepository.countByState(store.db),
    accountRepository.enabledOfTerminated(store.db, LEAVERS_NAMED * 4),
    lastReconcileBySystem(store, names),
    queryEvents(store.db, { action: "mass-change.stopped", since, limit: 1000 }),
    queryEvents(store.db, { action: "operation.mass_change_confirmed", since, limit: 1000 }),
    // A stop is let go by whichever confirmation names its plan: a held HR push's terminations
    // (engine/sync.ts) and held NHI disables (workflows/nhi-mass-change.ts) have their own events.
    queryEvents(store.db, { action: "sync.mass_change_confirmed", since, limit: 1000 }),
    queryEvents(store.db, { action: "nhi.mass_change_confirmed", since, limit: 1000 }),
  ]);
  const byIdentity = new Map<string, Array<{ system: string; username: string }>>();
  for (const row of leavers.rows) {
    const list = byIdentity.get(row.identityId) ?? [];
    list.push({ system: row.system, username: row.username });
    byIdentity.set(row.identityId, list);
  }
  const named = [...byIdentity.keys()].slice(0, LEAVERS_NAMED);
  const identities = await identityRepository.findByIds(store.db, named);
  return {
    generatedAt: now.toISOString(),
    identities: { total: Object.values(byState).reduce((a, b) => a + b, 0), byState },
    leavers: {
      withEnabledAccounts: leavers.identities,
      items: named.map((id) => {
        const identity = identities.get(id);
        return {
          id,
          sourceKey: identity?.sourceKey ?? id,
          displayName: identity?.attributes.displayName ?? id,
          state: identity?.state ?? "terminated",
          accounts: byIdentity.get(id) ?? [],
        };
      }),
    },
    operations: {
      pending: (operations.pending ?? 0) + (operations.running ?? 0),
      failed: operations.failed ?? 0,
      dead: operations.dead ?? 0,
      byState: operations,
    },
    systems: names.map((name) => {
      const def = config.policy.systems[name]!;
      return {
        name,
        connector: def.connector,
        owner: def.owner ?? null,
        lastReconcile: reconciled[name] ?? null,
      };
    }),
    massChangeStops: waitingStops(stops, confirmations.flat()),
  };
}

type Event = Awaited<ReturnType<typeof queryEvents>>[number];

/** The latest stop of each plan hash no confirmation names, newest first. */
function waitingStops(stops: readonly Event[], confirmations: readonly Event[]): MassChangeStop[] {
  const confirmed = new Set(
    confirmations
      .map((e) => (e.details as { planHash?: unknown }).planHash)
      .filter((h) => typeof h === "string"),
  );
  const latest = new Map<string, MassChangeStop>();
  for (const e of stops) {
    const d = e.details as { run?: unknown; planHash?: unknown; exceeded?: unknown };
    if (typeof d.planHash !== "string" || confirmed.has(d.planHash)) continue;
    latest.set(d.planHash, {
      seq: e.seq,
      time: e.time,
      actor: e.actor,
      run: typeof d.run === "string" ? d.run : "run",
      planHash: d.planHash,
      exceeded: Array.isArray(d.exceeded) ? (d.exceeded as MassChangeStop["exceeded"]) : [],
    });
  }
  return [...latest.values()].sort((a, b) => b.seq - a.seq);
}
