import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import { engineRegistry } from "../../engine/engine-metrics.js";
import { scheduleStatus } from "../../engine/scheduler.js";
import type { TenureConfig } from "../../policy/config-types.js";
import { accountRepository } from "../../store/account-repository.js";
import type { Store } from "../../store/database.js";
import { metricsRepository } from "../../store/metrics-repository.js";
import { allJobs } from "../../workflows/all-jobs.js";
import { leaversReport } from "../../workflows/report-leavers.js";

/** The leavers of this many days back are the leaver SLA's population. */
const LEAVER_WINDOW_DAYS = 7;
/** The leavers report reads the ledger: at most once a minute, however often Prometheus scrapes. */
const LEAVER_CACHE_MS = 60_000;

const HTTP_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * The Prometheus metrics of one server (`GET /metrics`, docs/operations.md "Monitoring"): HTTP
 * requests measured as they are answered; the engine's connector calls (engine/engine-metrics.ts);
 * process metrics; and, read from the store at each scrape, what any instance sees alike — operations
 * by state and system, queue depth and the oldest waiting operation, the outbox, the leaver SLA, source
 * syncs, the scheduler's jobs and the ledger's length.
 */
/** What a scrape reads: the store, the configuration (systems, SLA, jobs) and the clock. */
export interface ScrapeDeps {
  store: Store;
  config: TenureConfig;
  now: () => Date;
}

export interface ServerMetrics {
  /** Records one answered HTTP request; `route` is the route's pattern (not the URL: ids would explode the label). */
  observeRequest(method: string, route: string, status: number, seconds: number): void;
  /** The exposition text, after reading the store; and its content type. */
  scrape(deps: ScrapeDeps): Promise<{ text: string; contentType: string }>;
}

export function createServerMetrics(): ServerMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "tenure_" });
  const registers = [registry];

  const httpRequests = new Counter({
    name: "tenure_http_requests_total",
    help: "HTTP requests answered, by method, route pattern and status code",
    labelNames: ["method", "route", "status"] as const,
    registers,
  });
  const httpDuration = new Histogram({
    name: "tenure_http_request_duration_seconds",
    help: "Time to answer an HTTP request, by method and route pattern",
    labelNames: ["method", "route"] as const,
    buckets: HTTP_BUCKETS,
    registers,
  });

  const operations = new Gauge({
    name: "tenure_operations",
    help: "Operations in the store, by system and state (pending, running, awaiting, succeeded, failed, dead)",
    labelNames: ["system", "state"] as const,
    registers,
  });
  const queueDepth = new Gauge({
    name: "tenure_operations_queue_depth",
    help: "Operations not yet done (pending, running, awaiting a person, failed and to be retried), by system",
    labelNames: ["system"] as const,
    registers,
  });
  const oldestWaiting = new Gauge({
    name: "tenure_operations_oldest_waiting_seconds",
    help: "Age of the oldest operation not yet done, by system (0: none waiting)",
    labelNames: ["system"] as const,
    registers,
  });
  const notifications = new Gauge({
    name: "tenure_notifications",
    help: "Outbox messages, by state (pending, sending, sent, dead)",
    labelNames: ["state"] as const,
    registers,
  });
  const oldestNotification = new Gauge({
    name: "tenure_notifications_oldest_waiting_seconds",
    help: "Age of the oldest outbox message not yet sent (0: none waiting)",
    registers,
  });
  const terminatedEnabled = new Gauge({
    name: "tenure_terminated_with_enabled_accounts",
    help: "Terminated identities that still have an enabled account in some system (should be 0)",
    registers,
  });
  const leavers = new Gauge({
    name: "tenure_leavers",
    help: `Terminations of the last ${LEAVER_WINDOW_DAYS} days, by status (deprovisioned, outstanding, sla_breached)`,
    labelNames: ["status"] as const,
    registers,
  });
  const leaverHours = new Gauge({
    name: "tenure_leaver_deprovision_hours",
    help: `Hours from termination to the last account disabled, over the leavers of the last ${LEAVER_WINDOW_DAYS} days fully deprovisioned, by quantile (1: the worst)`,
    labelNames: ["quantile"] as const,
    registers,
  });
  const leaverOutstanding = new Gauge({
    name: "tenure_leaver_oldest_outstanding_hours",
    help: `Hours since the termination of the longest-waiting leaver of the last ${LEAVER_WINDOW_DAYS} days who still has an account not disabled (0: none)`,
    registers,
  });
  const leaverSla = new Gauge({
    name: "tenure_leaver_sla_hours",
    help: "The leaver SLA (lifecycle.leaver.slaHours)",
    registers,
  });
  const sourceLastRun = new Gauge({
    name: "tenure_source_last_sync_timestamp_seconds",
    help: "When each HR source's last sync that wrote its records finished (Unix time)",
    labelNames: ["source"] as const,
    registers,
  });
  const sourceLastRows = new Gauge({
    name: "tenure_source_last_sync_rows",
    help: "Rows of each source's last sync, by outcome (read, valid, skipped, findings)",
    labelNames: ["source", "outcome"] as const,
    registers,
  });
  const jobLastRun = new Gauge({
    name: "tenure_scheduler_job_last_run_timestamp_seconds",
    help: "When each scheduled job last finished (Unix time), with its outcome (succeeded, failed)",
    labelNames: ["job", "outcome"] as const,
    registers,
  });
  const jobLate = new Gauge({
    name: "tenure_scheduler_job_late_seconds",
    help: "How long after its due time each job's last run started",
    labelNames: ["job"] as const,
    registers,
  });
  const jobOverdue = new Gauge({
    name: "tenure_scheduler_job_overdue_seconds",
    help: "How long each job's next slot is past (0: not due yet): no scheduler is running it, or it runs long",
    labelNames: ["job"] as const,
    registers,
  });
  const jobRuns = new Gauge({
    name: "tenure_scheduler_job_runs",
    help: "Runs of each job recorded so far, by outcome (all, failed)",
    labelNames: ["job", "outcome"] as const,
    registers,
  });
  const ledgerSeq = new Gauge({
    name: "tenure_ledger_events",
    help: "Events in the audit ledger (the head's sequence number)",
    registers,
  });

  let leaverCache: { at: number; config: object; summary: Record<string, unknown> } | null = null;

  const readLeavers = async (deps: ScrapeDeps, now: Date) => {
    if (
      leaverCache !== null &&
      leaverCache.config === deps.config &&
      now.getTime() - leaverCache.at < LEAVER_CACHE_MS
    ) {
      return leaverCache.summary;
    }
    const from = new Date(now.getTime() - LEAVER_WINDOW_DAYS * 86_400_000);
    const report = await leaversReport(deps.store, deps.config, { from, to: now, now });
    // The longest-waiting leaver: the most hours among systems not yet disabled.
    let oldest = 0;
    for (const row of report.rows) {
      if (row.deprovisionedAt === null && typeof row.hours === "number" && row.hours > oldest)
        oldest = row.hours;
    }
    const summary: Record<string, unknown> = { ...report.summary, oldestOutstandingHours: oldest };
    leaverCache = { at: now.getTime(), config: deps.config, summary };
    return summary;
  };

  return {
    observeRequest(method, route, status, seconds) {
      httpRequests.inc({ method, route, status: String(status) });
      httpDuration.observe({ method, route }, seconds);
    },

    async scrape(deps) {
      const now = deps.now();
      const db = deps.store.db;
      const seconds = (iso: string) => Math.max(0, (now.getTime() - Date.parse(iso)) / 1000);
      const [ops, waiting, outbox, terminated, leaverSummary, sources, jobs, seq] = await Promise.all([
        metricsRepository.operationsBySystemAndState(db),
        metricsRepository.oldestWaiting(db),
        metricsRepository.notifications(db),
        accountRepository.enabledOfTerminated(db, 0),
        readLeavers(deps, now),
        metricsRepository.lastSourceRuns(db),
        scheduleStatus(
          deps.store,
          allJobs({ store: deps.store, config: deps.config, now: deps.now, actor: "metrics" }),
          deps.config.server.schedule.timeZone,
          now,
        ),
        metricsRepository.ledgerSeq(db),
      ]);

      // Every configured system has a series, 0 when it has nothing: an absent series cannot alert.
      const systems = Object.keys(deps.config.policy.systems);
      operations.reset();
      queueDepth.reset();
      oldestWaiting.reset();
      for (const system of systems) {
        queueDepth.set({ system }, 0);
        oldestWaiting.set({ system }, 0);
      }
      for (const o of ops) operations.set({ system: o.system, state: o.state }, o.count);
      for (const w of waiting) {
        queueDepth.set({ system: w.system }, w.waiting);
        oldestWaiting.set({ system: w.system }, seconds(w.createdAt));
      }

      notifications.reset();
      for (const state of ["pending", "sending", "sent", "dead"])
        notifications.set({ state }, outbox.byState[state] ?? 0);
      oldestNotification.set(outbox.oldestWaiting === null ? 0 : seconds(outbox.oldestWaiting));

      terminatedEnabled.set(terminated.identities);
      const s = leaverSummary;
      const num = (v: unknown) => (typeof v === "number" ? v : 0);
      leavers.set({ status: "deprovisioned" }, num(s.fullyDeprovisioned));
      leavers.set({ status: "outstanding" }, num(s.outstanding));
      leavers.set({ status: "sla_breached" }, num(s.slaBreached));
      leaverSla.set(num(s.slaHours));
      leaverHours.reset();
      for (const [quantile, key] of [
        ["0.5", "p50Hours"],
        ["0.9", "p90Hours"],
        ["0.99", "p99Hours"],
        ["1", "maxHours"],
      ] as const) {
        if (typeof s[key] === "number") leaverHours.set({ quantile }, s[key] as number);
      }
      leaverOutstanding.set(num(s.oldestOutstandingHours));

      sourceLastRun.reset();
      sourceLastRows.reset();
      for (const run of sources) {
        sourceLastRun.set({ source: run.source }, Date.parse(run.finishedAt) / 1000);
        const summary = JSON.parse(run.summary) as Record<string, unknown>;
        for (const [outcome, key] of [
          ["read", "rowsRead"],
          ["valid", "recordsValid"],
          ["skipped", "rowsSkipped"],
          ["findings", "findings"],
        ] as const) {
          sourceLastRows.set({ source: run.source, outcome }, num(summary[key]));
        }
      }

      jobLastRun.reset();
      jobLate.reset();
      jobOverdue.reset();
      jobRuns.reset();
      for (const job of jobs) {
        jobOverdue.set({ job: job.job }, job.overdue && job.nextDue !== null ? seconds(job.nextDue) : 0);
        if (job.last === null) continue;
        jobLastRun.set({ job: job.job, outcome: job.last.status }, Date.parse(job.last.finishedAt) / 1000);
        jobLate.set({ job: job.job }, job.last.lateSeconds);
        jobRuns.set({ job: job.job, outcome: "all" }, job.last.runs);
        jobRuns.set({ job: job.job, outcome: "failed" }, job.last.failures);
      }
      ledgerSeq.set(seq);

      const merged = Registry.merge([registry, engineRegistry]);
      return { text: await merged.metrics(), contentType: merged.contentType };
    },
  };
}
