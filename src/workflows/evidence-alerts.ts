import { queueLeaverSlaBreaches } from "../engine/lifecycle-notices.js";
import type { JobDeps } from "../engine/scheduled-jobs.js";
import type { ScheduledJob } from "../engine/scheduler.js";
import { enqueueNotificationsMany } from "../notify/notification-enqueue.js";
import type { TenureConfig } from "../policy/config-types.js";
import type { Store } from "../store/store-types.js";
import { terminatedEnabledReport } from "./report-current.js";
import { leaversReport } from "./report-leavers.js";

/**
 * The evidence reports whose rows must not exist, checked on the clock (`server.schedule.alerts`,
 * default every 15 minutes): every leaver who still has an enabled account, and every leaver of the
 * last 30 days past `lifecycle.leaver.slaHours` and not fully deprovisioned, become one `report.alert`
 * each — once per account or leaver, not at every run; and each leaver past the SLA one
 * `leaver.sla-breached` to the security contacts (engine/lifecycle-notices.ts).
 */

const DAY_MS = 86_400_000;
/** As `server.schedule.alerts` defaults in tenure.yaml, for configs written in code. */
export const DEFAULT_ALERTS_SCHEDULE = "*/15 * * * *";

export interface AlertRun {
  /** Alerts found this run (queued now or earlier: the outbox sends each once). */
  found: number;
  /** Leavers past the SLA, each one `leaver.sla-breached` to the security contacts (once per termination). */
  leaversPastSla: number;
}

export async function runEvidenceAlerts(
  store: Store,
  config: TenureConfig,
  options: { now: Date },
): Promise<AlertRun> {
  const { now } = options;
  const events: Array<{
    name: "report.alert";
    data: { report: string; title: string; key: string; alert: string };
  }> = [];
  const enabled = await terminatedEnabledReport(store, config, { now });
  enabled.rows.forEach((row, i) => {
    events.push({
      name: "report.alert",
      data: {
        report: enabled.name,
        title: enabled.title,
        key: `${String(row.system)}/${String(row.username)}`,
        alert: enabled.alerts[i] ?? "",
      },
    });
  });
  const leavers = await leaversReport(store, config, {
    now,
    from: new Date(now.getTime() - 30 * DAY_MS),
    to: now,
  });
  const sla = Number(leavers.summary.slaHours);
  for (const row of leavers.rows) {
    if (!String(row.status).startsWith("outstanding") || Number(row.hours) <= sla) continue;
    events.push({
      name: "report.alert",
      data: {
        report: leavers.name,
        title: `${leavers.title}: SLA of ${sla} h passed`,
        key: `${String(row.employeeId)}:${String(row.terminatedAt)}:${String(row.system)}`,
        alert: `${String(row.name)} (${String(row.employeeId)}) left ${String(row.terminatedAt)} and the account ${String(row.username)} in ${String(row.system)} is not disabled after ${String(row.hours)} h (SLA ${sla} h)`,
      },
    });
  }
  if (events.length > 0) await enqueueNotificationsMany(store.db, events, config, now);
  const leaversPastSla = await queueLeaverSlaBreaches(store.db, config, now);
  return { found: events.length, leaversPastSla };
}

/** The `alerts` job, when a leaver's access can be checked (a system is configured). */
export function evidenceJobs(deps: JobDeps): ScheduledJob[] {
  const { store, config } = deps;
  if (Object.keys(config.policy.systems).length === 0) return [];
  return [
    {
      name: "alerts",
      pattern: config.server.schedule.alerts ?? DEFAULT_ALERTS_SCHEDULE,
      description:
        "leavers with an enabled account, and leavers past the deprovisioning SLA: one report.alert each",
      async run({ now }) {
        return { ...(await runEvidenceAlerts(store, config, { now })) };
      },
    },
  ];
}
