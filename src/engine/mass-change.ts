import { appendEvents } from "../audit/ledger.js";
import { enqueueNotifications } from "../notify/notification-enqueue.js";
import type { MassChangeCountData } from "../notify/notification-events.js";
import type { LifecycleConfig, TenureConfig } from "../policy/config-types.js";
import type { MassChangeError } from "../shared/errors.js";
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
