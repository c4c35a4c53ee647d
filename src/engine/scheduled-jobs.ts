import { notifySecrets } from "../notify/delivery-errors.js";
import { deliverNotifications } from "../notify/notification-delivery.js";
import { notifyConnectorUnreachable } from "../notify/notification-enqueue.js";
import type { TenureConfig } from "../policy/config-types.js";
import type { Store } from "../store/database.js";
import { recoverDeadClaims, thisProcess } from "./claim-recovery.js";
import { ledgerPublishJob } from "./ledger-publish-job.js";
import { summariseSweep, sweepLifecycle } from "./lifecycle-sweep.js";
import { alertOverdueTasks } from "./manual-tasks.js";
import { connectorPool, workerId } from "./provision.js";
import { reconcileSystem } from "./reconcile.js";
import { createScheduler, type ScheduledJob, type Scheduler, type SchedulerLog } from "./scheduler.js";
import { leadershipFor } from "./scheduler-leadership.js";
import { rulesRead, scanSod } from "./sod-scan.js";

export interface JobDeps {
  store: Store;
  config: TenureConfig;
  /** The clock, for work that reads it as it goes (notification delivery records each message's time). */
  now: () => Date;
  /** The actor of what the jobs change. `scheduler`, or `cli:alice` for `tenure schedule run`. */
  actor: string;
  /**
   * The plan hash of a stopped lifecycle sweep, confirmed by an admin (`schedule run lifecycle
   * --confirm-mass-change HASH`): the sweep goes ahead only if its plan still has this hash.
   */
  confirmMassChange?: string;
}

/**
 * The jobs `server.schedule` describes, in the order `schedule status` lists them:
 * - `lifecycle` — the lifecycle sweep (start and end dates, retention, contractor warnings) and
 *   provisioning at the time (access expiries, retention deletes), see sweepLifecycle;
 * - `reconcile:<system>` — one per system, at `systems.<name>.reconcile.schedule` or server.schedule.reconcile;
 *   a system that cannot be read also queues `connector.unreachable`;
 * - `notify` — delivery of queued notifications (only when `notify:` is configured);
 * - `sod` — the full separation-of-duties scan (only when `sod:` has rules);
 * - `tasks` — the SLA alert for manual tasks (only when a system uses the manual connector);
 * - `audit-publish` — sign the ledger head and publish it (only when `audit.publish` is configured).
 * Operations are applied by `tenure serve`'s own apply loop (server.applyIntervalSeconds), and by the
 * lifecycle job's provisioning.
 */
export function scheduledJobs(deps: JobDeps): ScheduledJob[] {
  const { store, config, actor } = deps;
  const schedule = config.server.schedule;
  const jobs: ScheduledJob[] = [
    {
      name: "lifecycle",
      pattern: schedule.lifecycle,
      description: "date-driven lifecycle moves, contractor warnings, then provisioning at the time",
      async run({ now }) {
        const result = await sweepLifecycle(store, config, {
          now,
          actor,
          ...(deps.confirmMassChange !== undefined ? { confirmMassChange: deps.confirmMassChange } : {}),
        });
        return summariseSweep(result);
      },
    },
  ];
  for (const system of Object.values(config.policy.systems)) {
    jobs.push({
      name: `reconcile:${system.name}`,
      pattern: system.reconcile?.schedule ?? schedule.reconcile,
      description: `read every account of ${system.name}: adopt, report orphans and drift`,
      async run({ now }) {
        const pool = connectorPool(config);
        try {
          const report = await reconcileSystem(store, config.policy, system.name, pool.get(system.name), {
            now,
            actor,
          });
          // A rule naming this system's entitlements sees what reconcile found (added by hand counts).
          const sod = rulesRead(config, system.name) ? await scanSod(store, config, { now, actor }) : null;
          return {
            read: report.read,
            ...(sod === null ? {} : { sodOpened: sod.opened.length, sodClosed: sod.closed.length }),
            accounts: report.accounts,
            correlated: report.correlated,
            orphans: report.orphans.length,
            adopted: report.adopted.length,
            vanished: report.vanished.length,
            drift: report.unmanagedEntitlements.length + report.missingEntitlements.length,
          };
        } catch (err) {
          // Connector messages are free of secrets; the notification is throttled per system and window.
          const reason = err instanceof Error ? err.message : String(err);
          await store.db
            .transaction()
            .execute((trx) => notifyConnectorUnreachable(trx, system.name, reason, config, now));
          throw err;
        } finally {
          await pool.closeAll();
        }
      },
    });
  }
  if (config.notify !== undefined) {
    jobs.push({
      name: "notify",
      pattern: schedule.notify,
      description: "deliver queued notifications (email, webhooks), retrying failed ones",
      async run({ signal }) {
        const owner = thisProcess();
        await recoverDeadClaims(store, { now: deps.now(), actor, self: owner });
        const result = await deliverNotifications(
          { store, notify: config.notify, now: deps.now, workerId: workerId(), owner, actor },
          { signal },
        );
        return { ...result.summary };
      },
    });
  }
  if (Object.keys(config.policy.sod?.rules ?? {}).length > 0) {
    jobs.push({
      name: "sod",
      pattern: schedule.sod,
      description:
        "full separation-of-duties scan: every identity against every rule; new violations notify owners",
      async run({ now }) {
        const result = await scanSod(store, config, { now, actor });
        return { open: result.scan.open, opened: result.opened.length, closed: result.closed.length };
      },
    });
  }
  if (Object.values(config.policy.systems).some((s) => s.connector === "manual")) {
    jobs.push({
      name: "tasks",
      pattern: schedule.tasks,
      description: "alert about manual tasks past their SLA (task.overdue, once per task)",
      async run({ now }) {
        const result = await alertOverdueTasks(store, config, now, { actor });
        return { alerted: result.alerted.length, notifications: result.notifications };
      },
    });
  }
  const audit = config.audit;
  if (audit?.publish !== undefined && audit.signing !== undefined) {
    jobs.push(ledgerPublishJob(deps, audit.signing, audit.publish));
  }
  return jobs;
}

/**
 * The scheduler for a configuration, as `tenure serve` and `tenure schedule run` use it: the jobs of
 * {@link scheduledJobs}, patterns read in server.schedule.timeZone, leadership by advisory lock on
 * PostgreSQL (retried every server.schedule.leaderRetrySeconds), notify's secrets masked in errors.
 * Not started: call `start()` for the loop, or `runDue()` for one pass.
 */
export function configuredScheduler(
  deps: JobDeps & {
    log?: SchedulerLog;
    /** Every job, when layers above the engine add theirs (workflows/all-jobs.ts); absent: scheduledJobs. */
    jobs?: ScheduledJob[];
  },
): Scheduler {
  const { store, config } = deps;
  return createScheduler({
    store,
    jobs: deps.jobs ?? scheduledJobs(deps),
    now: deps.now,
    timeZone: config.server.schedule.timeZone,
    leadership: leadershipFor(store, config.database),
    actor: deps.actor,
    leaderRetryMs: config.server.schedule.leaderRetrySeconds * 1000,
    secrets: notifySecrets(config.notify),
    ...(deps.log ? { log: deps.log } : {}),
  });
}
