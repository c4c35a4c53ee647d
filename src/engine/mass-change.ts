import { appendEvents } from "../audit/ledger.js";
import type { PlannedOperation } from "../domain/access-types.js";
import { enqueueNotifications } from "../notify/notification-enqueue.js";
import type { MassChangeCountData } from "../notify/notification-events.js";
import type { LifecycleConfig, TenureConfig } from "../policy/config-types.js";
import { MassChangeError } from "../shared/errors.js";
import type { Store } from "../store/database.js";

/**
 * Whether `count` removals out of a population of `population` exceed the threshold:
 * both more than the minimum count and more than the percentage. A small organisation's
 * two leavers never trip it; a truncated HR file does.
 */
export function exceedsMassChangeThreshold(
  count: number,
  population: number,
  threshold: LifecycleConfig["massChangeThreshold"],
): boolean {
  if (count <= threshold.minimum) return false;
  return count > (population * threshold.percent) / 100;
}

/** What stopped, for the audit and the notification. */
export interface MassChangeStop {
  /** In words: `sync of source hr`, `provisioning`. */
  run: string;
  /** The audit action: `sync.mass_change_stopped` or `operation.mass_change_stopped`. */
  action: string;
  actor: string;
  now: Date;
}

/**
 * Records that mass-change protection stopped a run: one audit event per system or source past the
 * threshold (subject `system:NAME` / `source:NAME`, as the confirmation events are filed) and the
 * `mass-change.stopped` notification, in one transaction of their own — the stopped run wrote nothing
 * for them to join. Call it before throwing `error`.
 */
export async function recordMassChangeStop(
  store: Pick<Store, "db">,
  error: MassChangeError,
  stop: MassChangeStop,
  config: Pick<TenureConfig, "notify">,
): Promise<void> {
  const at = stop.now.toISOString();
  const systems: MassChangeCountData[] = Object.entries(error.counts).map(([key, c]) => {
    const colon = key.indexOf(":");
    const kind = key.slice(0, colon) === "source" ? "source" : "system";
    return { kind, name: key.slice(colon + 1), disable: c.disable, delete: c.delete, total: c.total };
  });
  await store.db.transaction().execute(async (trx) => {
    await appendEvents(
      trx,
      Object.entries(error.counts).map(([subject, c]) => ({
        time: at,
        actor: stop.actor,
        action: stop.action,
        subject,
        details: {
          run: stop.run,
          disable: c.disable,
          delete: c.delete,
          total: c.total,
          stoppedBy: "threshold",
        },
      })),
    );
    await enqueueNotifications(
      trx,
      { name: "mass-change.stopped", data: { run: stop.run, actor: stop.actor, systems } },
      config,
      stop.now,
    );
  });
}

/** The systems whose planned disables and deletes exceed the threshold, with the counts. */
export interface MassChangeCount {
  system: string;
  disable: number;
  delete: number;
  /** Accounts the system has (the population the threshold is a share of). */
  total: number;
}

/**
 * Counts, per system, the distinct accounts the operations would disable or delete (an account both
 * disabled and deleted counts once in the total compared) and returns the systems where that exceeds
 * `lifecycle.massChangeThreshold` of the system's accounts. Pure.
 */
export function massChangesOf(
  ops: readonly PlannedOperation[],
  actualAccountCountBySystem: Readonly<Record<string, number>>,
  threshold: LifecycleConfig["massChangeThreshold"],
): MassChangeCount[] {
  const removals = new Map<string, { disable: Set<string>; delete: Set<string> }>();
  for (const op of ops) {
    if (op.kind !== "disable" && op.kind !== "delete") continue;
    const entry = removals.get(op.system) ?? { disable: new Set<string>(), delete: new Set<string>() };
    removals.set(op.system, entry);
    entry[op.kind].add(op.username);
  }
  const exceeded: MassChangeCount[] = [];
  for (const [system, entry] of removals) {
    const affected = new Set([...entry.disable, ...entry.delete]).size;
    const total = actualAccountCountBySystem[system] ?? 0;
    if (exceedsMassChangeThreshold(affected, total, threshold)) {
      exceeded.push({ system, disable: entry.disable.size, delete: entry.delete.size, total });
    }
  }
  return exceeded.sort((a, b) => (a.system < b.system ? -1 : a.system > b.system ? 1 : 0));
}

/**
 * Mass-change protection for provisioning: throws when, in any system, the operations would disable or
 * delete more than `lifecycle.massChangeThreshold` of its accounts. Call it before enqueueing, so nothing
 * at all is applied; a caller with confirmation skips it and audits who confirmed.
 * @throws MassChangeError (exit code 3) naming every such system with its counts.
 */
export function checkMassChange(
  ops: readonly PlannedOperation[],
  actualAccountCountBySystem: Readonly<Record<string, number>>,
  threshold: LifecycleConfig["massChangeThreshold"],
): void {
  const exceeded = massChangesOf(ops, actualAccountCountBySystem, threshold);
  if (exceeded.length === 0) return;
  const parts = exceeded.map(
    (c) => `${c.system} (disable ${c.disable}, delete ${c.delete} of ${c.total} accounts)`,
  );
  throw new MassChangeError(
    `this plan would disable or delete more than lifecycle.massChangeThreshold (${threshold.percent}% and at ` +
      `least ${threshold.minimum}) of the accounts in ${parts.join(", ")}; nothing was queued. Check the HR ` +
      "data and the policy; if the change is intended, run again with --confirm-mass-change.",
    Object.fromEntries(
      exceeded.map((c) => [`system:${c.system}`, { disable: c.disable, delete: c.delete, total: c.total }]),
    ),
  );
}
