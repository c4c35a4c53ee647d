import { type AuditEvent, queryEvents } from "../audit/ledger.js";
import type { TenureConfig } from "../policy/config-types.js";
import { accountRepository } from "../store/account-repository.js";
import { chunk } from "../store/chunk.js";
import { identityRepository } from "../store/identity-repository.js";
import type { Db } from "../store/schema-types.js";
import type { Store } from "../store/store-types.js";
import { columns, type Report, type ReportOptions, type ReportRow, reportPeriod } from "./report-types.js";

/**
 * Leavers and how long each system took to lose them: for every termination recorded in the ledger in
 * the period, per system, the first confirmed disable or delete after it (an `operation.succeeded`), or
 * that the account is still enabled. A leaver is fully deprovisioned when the last of their systems is;
 * that time, against `lifecycle.leaver.slaHours`, is the distribution auditors ask for.
 *
 * Read from the ledger, not from current state: a leaver rehired since still shows how fast they lost
 * access then (events after the rehire are not theirs to count).
 */

const HOUR_MS = 3_600_000;
const PAGE = 5_000;
const WORST = 10;
/** As lifecycle.leaver.slaHours defaults in tenure.yaml, for configs written in code. */
const DEFAULT_SLA_HOURS = 24;

interface Termination {
  identityId: string;
  at: string;
}

interface SystemOutcome {
  system: string;
  username: string | null;
  /** The first confirmed disable or delete after the termination. */
  doneAt: string | null;
  how: string | null;
  /** An operation for it ended dead (retries exhausted). */
  dead: boolean;
}

/** Every event of `action` in [from, to), in ledger order, read a page at a time. */
export async function* eventsOf(
  db: Db,
  filter: { action?: string; subject?: readonly string[]; since: string; until?: string },
): AsyncGenerator<AuditEvent> {
  let afterSeq: number | undefined;
  for (;;) {
    const page = await queryEvents(db, {
      ...filter,
      limit: PAGE,
      ...(afterSeq === undefined ? {} : { afterSeq }),
    });
    yield* page;
    if (page.length < PAGE) return;
    afterSeq = page[page.length - 1]!.seq;
  }
}

async function terminations(db: Db, from: Date, to: Date): Promise<Termination[]> {
  const out: Termination[] = [];
  for await (const e of eventsOf(db, {
    action: "identity.state_changed",
    since: from.toISOString(),
    until: to.toISOString(),
  })) {
    if (e.details.to === "terminated") out.push({ identityId: e.subject, at: e.time });
  }
  return out;
}

/** Per leaver, per system: what happened to their accounts after the termination, up to `now`. */
async function outcomes(
  db: Db,
  leavers: readonly Termination[],
  now: Date,
): Promise<Map<string, Map<string, SystemOutcome>>> {
  const byIdentity = new Map<string, Map<string, SystemOutcome>>();
  const since = new Map<string, string>();
  for (const t of leavers) {
    // A second termination in the period (rehired, then left again) starts its own count.
    since.set(t.identityId, t.at);
    byIdentity.set(t.identityId, new Map());
  }
  const earliest = leavers.reduce((m, t) => (t.at < m ? t.at : m), now.toISOString());
  const ended = new Set<string>();
  for (const ids of chunk([...since.keys()], 500)) {
    for await (const e of eventsOf(db, { subject: ids, since: earliest })) {
      const id = e.subject;
      const start = since.get(id);
      if (start === undefined || e.time < start || ended.has(id)) continue;
      if (e.action === "identity.rehired") {
        ended.add(id);
        continue;
      }
      if (!e.action.startsWith("operation.")) continue;
      const kind = e.details.kind;
      if (kind !== "disable" && kind !== "delete") continue;
      const system = String(e.details.system);
      const systems = byIdentity.get(id)!;
      let outcome = systems.get(system);
      if (outcome === undefined) {
        outcome = {
          system,
          username: typeof e.details.username === "string" ? e.details.username : null,
          doneAt: null,
          how: null,
          dead: false,
        };
        systems.set(system, outcome);
      }
      if (e.action === "operation.succeeded" && outcome.doneAt === null) {
        outcome.doneAt = e.time;
        outcome.how = kind;
      } else if (e.action === "operation.dead") outcome.dead = true;
    }
  }
  // Accounts still enabled now, of leavers not rehired: outstanding, whatever the ledger says.
  for (const ids of chunk(
    [...since.keys()].filter((id) => !ended.has(id)),
    500,
  )) {
    for (const account of await accountRepository.list(db, { identityIds: ids })) {
      if (!account.enabled || (account.vanishedAt ?? null) !== null) continue;
      const systems = byIdentity.get(account.identityId!)!;
      const known = systems.get(account.system);
      if (known === undefined)
        systems.set(account.system, {
          system: account.system,
          username: account.username,
          doneAt: null,
          how: null,
          dead: false,
        });
      else if (known.doneAt !== null) {
        // Enabled again after it was disabled (a rehire's account, or drift): not deprovisioned.
        known.doneAt = null;
        known.how = null;
      }
    }
  }
  return byIdentity;
}

function hours(fromIso: string, toIso: string): number {
  return Math.round(((Date.parse(toIso) - Date.parse(fromIso)) / HOUR_MS) * 100) / 100;
}

/** The value at quantile q (0–1) of ascending `sorted`, nearest rank; null for none. */
export function quantile(sorted: readonly number[], q: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length)));
  return sorted[rank - 1]!;
}

export async function leaversReport(
  store: Store,
  config: TenureConfig,
  options: ReportOptions,
): Promise<Report> {
  const { from, to } = reportPeriod(options);
  const now = options.now;
  const slaHours = config.lifecycle.leaver.slaHours ?? DEFAULT_SLA_HOURS;
  const leavers = await terminations(store.db, from, to);
  const results = await outcomes(store.db, leavers, now);
  const people = await identityRepository.findByIds(store.db, [...results.keys()]);
  const rows: ReportRow[] = [];
  const full: Array<{ identityId: string; hours: number }> = [];
  let outstanding = 0;
  let breached = 0;
  const alerts: string[] = [];
  for (const t of leavers) {
    const person = people.get(t.identityId);
    const systems = [...(results.get(t.identityId)?.values() ?? [])].sort((a, b) =>
      a.system.localeCompare(b.system),
    );
    let last: string | null = t.at;
    for (const s of systems) {
      const took = s.doneAt === null ? null : hours(t.at, s.doneAt);
      const open = s.doneAt === null ? hours(t.at, now.toISOString()) : null;
      if (s.doneAt === null) last = null;
      else if (last !== null && s.doneAt > last) last = s.doneAt;
      rows.push({
        employeeId: person?.sourceKey ?? null,
        name: person?.attributes.displayName ?? t.identityId,
        terminatedAt: t.at,
        system: s.system,
        username: s.username,
        deprovisionedAt: s.doneAt,
        how: s.how,
        hours: took ?? open,
        status:
          s.doneAt !== null
            ? took! <= slaHours
              ? "within SLA"
              : "SLA breached"
            : s.dead
              ? "outstanding (operation dead)"
              : "outstanding",
      });
    }
    if (last === null) {
      outstanding++;
      const open = hours(t.at, now.toISOString());
      if (open > slaHours)
        alerts.push(
          `${person?.attributes.displayName ?? t.identityId} (${person?.sourceKey ?? "?"}) left ${t.at} and still has an account not disabled after ${open} h (SLA ${slaHours} h)`,
        );
    } else {
      const took = hours(t.at, last);
      full.push({ identityId: t.identityId, hours: took });
      if (took > slaHours) breached++;
    }
  }
  const sorted = full.map((f) => f.hours).sort((a, b) => a - b);
  const worst = [...full].sort((a, b) => b.hours - a.hours).slice(0, WORST);
  return {
    name: "leavers",
    title: "Leavers and time to full deprovisioning",
    description: `Every termination recorded between ${from.toISOString()} and ${to.toISOString()}, per system: when the account was confirmed disabled or deleted, against the SLA of ${slaHours} hours (lifecycle.leaver.slaHours).`,
    from: from.toISOString(),
    to: to.toISOString(),
    generatedAt: now.toISOString(),
    columns: columns([
      ["employeeId", "Employee id"],
      ["name", "Name"],
      ["terminatedAt", "Terminated at"],
      ["system", "System"],
      ["username", "Account"],
      ["deprovisionedAt", "Disabled or deleted at"],
      ["how", "How"],
      ["hours", "Hours"],
      ["status", "Status"],
    ]),
    rows,
    summary: {
      leavers: leavers.length,
      fullyDeprovisioned: full.length,
      outstanding,
      slaHours,
      slaBreached: breached,
      p50Hours: quantile(sorted, 0.5),
      p90Hours: quantile(sorted, 0.9),
      p99Hours: quantile(sorted, 0.99),
      maxHours: sorted.at(-1) ?? null,
      worst: worst
        .map((w) => `${people.get(w.identityId)?.sourceKey ?? w.identityId}: ${w.hours} h`)
        .join("; "),
    },
    alerts,
  };
}
