import type { Transaction } from "kysely";
import type { AuditEventInput } from "../audit/ledger.js";
import { queryEvents } from "../audit/ledger.js";
import type { Identity } from "../domain/identity-types.js";
import type {
  CreatedAccount,
  LeaverNoticeData,
  LeaverSystem,
  NotCreatedAccount,
} from "../notify/lifecycle-notification-events.js";
import { enqueueNotificationsMany } from "../notify/notification-enqueue.js";
import type { NotificationEvent } from "../notify/notification-events.js";
import type { TenureConfig } from "../policy/config-types.js";
import { chunk } from "../store/chunk.js";
import { identityRepository } from "../store/identity-repository.js";
import { OPEN_STATES } from "../store/operation-repository.js";
import type { Database, Db } from "../store/schema-types.js";

/**
 * The joiner and leaver notices (issue 18, item 6), queued in the transaction that records the results
 * of operations — so a notice is never sent for a change that was not recorded, nor lost to a crash:
 *
 * - `joiner.accounts-created`, to the new hire's manager: when a batch confirms (or ends for good) the
 *   last open create of an identity, one message lists every account created for them in their current
 *   employment — systems and usernames only, never a password or attribute — and those that failed for
 *   good. Once per employment (the dedupe key), so a retry, a re-run or a mover's later account does not
 *   send it again. No manager, or a manager without an email address (or one who left): nothing is
 *   sent, and a `notification.skipped` audit event says why.
 * - `leaver.deprovisioned`, to the security contacts: when a batch confirms a disable or delete of a
 *   terminated identity and none of their accounts is still enabled (nor a disable or delete still
 *   open) — the notion of "fully deprovisioned" of the leavers report — one message with each system's
 *   confirmed disable (or delete) time and its hours from the termination, against
 *   `lifecycle.leaver.slaHours`. Once per termination.
 * - `leaver.sla-breached` ({@link queueLeaverSlaBreaches}, on the clock): a leaver past the SLA with an
 *   account still enabled, each system's state (done, failed for good, pending). Once per termination.
 */

type Trx = Transaction<Database>;

/** The configuration the notices read: where they go, and the leaver SLA. */
export type LifecycleNoticeConfig = Pick<TenureConfig, "notify"> & {
  readonly lifecycle?: { readonly leaver: { readonly slaHours?: number } };
};

/** One recorded operation result, as apply reports it. */
export interface RecordedResult {
  kind: string;
  identityId: string | null;
  outcome: string;
}

const HOUR_MS = 3_600_000;
/** As lifecycle.leaver.slaHours defaults in tenure.yaml, for configs written in code. */
const DEFAULT_SLA_HOURS = 24;
const GONE = new Set(["terminated", "deleted"]);

const slaOf = (config: LifecycleNoticeConfig) => config.lifecycle?.leaver.slaHours ?? DEFAULT_SLA_HOURS;
const routed = (config: LifecycleNoticeConfig, event: NotificationEvent["name"]) =>
  (config.notify?.routes[event]?.length ?? 0) > 0;
const hoursBetween = (from: string, to: string) =>
  Math.max(0, Math.round(((Date.parse(to) - Date.parse(from)) / HOUR_MS) * 100) / 100);

/**
 * Queues the joiner and leaver notices that the results of one recorded batch complete, in `trx`
 * (after the operations' states and account rows of the batch are written). Returns the audit events
 * to append with the batch's own: a `notification.skipped` for each joiner whose manager has no address.
 * Reads only what the batch touched; queues nothing for an event that has no route.
 */
export async function queueLifecycleNotices(
  trx: Trx,
  results: readonly RecordedResult[],
  config: LifecycleNoticeConfig,
  now: Date,
  actor: string,
): Promise<AuditEventInput[]> {
  if (config.notify === undefined) return [];
  const joiners = new Set<string>();
  const leavers = new Set<string>();
  for (const r of results) {
    if (r.identityId === null) continue;
    if (r.kind === "create" && (r.outcome === "succeeded" || r.outcome === "dead")) joiners.add(r.identityId);
    if ((r.kind === "disable" || r.kind === "delete") && r.outcome === "succeeded") leavers.add(r.identityId);
  }
  const events: NotificationEvent[] = [];
  const audit: AuditEventInput[] = [];
  if (joiners.size > 0 && routed(config, "joiner.accounts-created")) {
    for (const notice of await joinerNotices(trx, [...joiners])) {
      events.push({ name: "joiner.accounts-created", data: notice });
      if (notice.to === null) {
        audit.push({
          time: now.toISOString(),
          actor,
          action: "notification.skipped",
          subject: notice.identityId,
          details: {
            event: "joiner.accounts-created",
            reason:
              notice.manager === null
                ? "no manager: the new hire has no manager who is still employed"
                : `the manager ${notice.manager} has no email address`,
            employment: notice.employment,
          },
        });
      }
    }
  }
  if (leavers.size > 0 && routed(config, "leaver.deprovisioned")) {
    for (const notice of await leaverNotices(trx, [...leavers], slaOf(config), now, "deprovisioned")) {
      events.push({ name: "leaver.deprovisioned", data: notice });
    }
  }
  if (events.length > 0) await enqueueNotificationsMany(trx, events, config, now);
  return audit;
}

/** The identities among `ids` with a create (or, for leavers, a disable or delete) still open. */
async function withOpen(db: Db, ids: readonly string[], kinds: readonly string[]): Promise<Set<string>> {
  const open = new Set<string>();
  for (const part of chunk([...ids], 500)) {
    const rows = await db
      .selectFrom("operations")
      .select("identity_id")
      .distinct()
      .where("identity_id", "in", part)
      .where("kind", "in", [...kinds])
      .where("state", "in", [...OPEN_STATES])
      .execute();
    for (const r of rows) if (r.identity_id !== null) open.add(r.identity_id);
  }
  return open;
}

/** When the identity's current employment began: the last rehire, or the beginning (employment 1). */
async function employmentStart(db: Db, identity: Identity): Promise<string> {
  if (identity.employment <= 1) return "";
  let start = "";
  let afterSeq: number | undefined;
  for (;;) {
    const page = await queryEvents(db, {
      subject: identity.id,
      action: "identity.rehired",
      limit: 1000,
      ...(afterSeq === undefined ? {} : { afterSeq }),
    });
    for (const e of page) start = e.time;
    if (page.length < 1000) return start;
    afterSeq = page[page.length - 1]!.seq;
  }
}

async function joinerNotices(db: Db, candidates: readonly string[]) {
  const open = await withOpen(db, candidates, ["create"]);
  const people = await identityRepository.findByIds(
    db,
    candidates.filter((id) => !open.has(id)),
  );
  const joiners = [...people.values()].filter((i) => i.kind === "human" && !GONE.has(i.state));
  if (joiners.length === 0) return [];
  const managers = await managersOf(db, joiners);
  const creates = await settledCreates(
    db,
    joiners.map((j) => j.id),
  );
  const notices = [];
  for (const joiner of joiners) {
    const since = await employmentStart(db, joiner);
    const rows = (creates.get(joiner.id) ?? []).filter((r) => since === "" || (r.finished_at ?? "") >= since);
    const accounts: CreatedAccount[] = [];
    const notCreated: NotCreatedAccount[] = [];
    const seen = new Set<string>();
    for (const r of rows) {
      const key = `${r.system}\u0000${r.username}`;
      if (r.state === "succeeded") {
        if (!seen.has(key)) accounts.push({ system: r.system, username: r.username });
        seen.add(key);
      }
    }
    for (const r of rows) {
      if (r.state !== "dead" || seen.has(`${r.system}\u0000${r.username}`)) continue;
      notCreated.push({
        system: r.system,
        username: r.username,
        why: `failed for good: ${r.last_error ?? "no error recorded"}`,
      });
    }
    // Nothing created (every create failed): the failures alert operators (operation.dead); the manager
    // is told once something exists.
    if (accounts.length === 0) continue;
    const manager = managers.get(joiner.id);
    notices.push({
      identityId: joiner.id,
      employeeId: joiner.sourceKey,
      name: joiner.attributes.displayName,
      to: manager?.attributes.email ?? null,
      manager: manager?.attributes.displayName ?? null,
      startDate: joiner.attributes.startDate,
      employment: joiner.employment,
      accounts,
      notCreated,
    });
  }
  return notices;
}

interface SettledCreate {
  identity_id: string | null;
  system: string;
  username: string;
  state: string;
  last_error: string | null;
  finished_at: string | null;
}

/** The creates of these identities that succeeded or failed for good, by identity, in system/username order. */
async function settledCreates(db: Db, ids: readonly string[]): Promise<Map<string, SettledCreate[]>> {
  const out = new Map<string, SettledCreate[]>();
  for (const part of chunk([...ids], 500)) {
    const rows = await db
      .selectFrom("operations")
      .select(["identity_id", "system", "username", "state", "last_error", "finished_at"])
      .where("identity_id", "in", part)
      .where("kind", "=", "create")
      .where("state", "in", ["succeeded", "dead"])
      .orderBy("system")
      .orderBy("username")
      .execute();
    for (const r of rows) {
      if (r.identity_id === null) continue;
      const list = out.get(r.identity_id);
      if (list === undefined) out.set(r.identity_id, [r]);
      else list.push(r);
    }
  }
  return out;
}

/** Each joiner's manager still employed: the identity of the same source whose key is their `managerId`. */
async function managersOf(db: Db, people: readonly Identity[]): Promise<Map<string, Identity>> {
  const bySource = new Map<string, Identity[]>();
  for (const p of people) {
    if (p.attributes.managerId === null) continue;
    bySource.set(p.source, [...(bySource.get(p.source) ?? []), p]);
  }
  const out = new Map<string, Identity>();
  for (const [source, reports] of bySource) {
    const keys = [...new Set(reports.map((r) => r.attributes.managerId!))];
    const found = await identityRepository.listBySourceKeysOrEmails(db, source, keys, []);
    const byKey = new Map(found.filter((m) => !GONE.has(m.state)).map((m) => [m.sourceKey, m]));
    for (const r of reports) {
      const manager = byKey.get(r.attributes.managerId!);
      if (manager !== undefined) out.set(r.id, manager);
    }
  }
  return out;
}

/** The identities among `ids` that still have an enabled account (not vanished from its system). */
async function withEnabledAccount(db: Db, ids: readonly string[]): Promise<Set<string>> {
  const enabled = new Set<string>();
  for (const part of chunk([...ids], 500)) {
    const rows = await db
      .selectFrom("accounts")
      .select("identity_id")
      .distinct()
      .where("identity_id", "in", part)
      .where("enabled", "=", 1)
      .where("vanished_at", "is", null)
      .execute();
    for (const r of rows) if (r.identity_id !== null) enabled.add(r.identity_id);
  }
  return enabled;
}

/**
 * The leaver notice of each terminated identity among `ids`: `deprovisioned` only for those with no
 * enabled account and no disable or delete open; `breached` for those past the SLA with either.
 */
async function leaverNotices(
  db: Db,
  ids: readonly string[],
  slaHours: number,
  now: Date,
  which: "deprovisioned" | "breached",
): Promise<LeaverNoticeData[]> {
  const people = await identityRepository.findByIds(db, ids);
  const leavers = [...people.values()].filter((i) => i.state === "terminated");
  if (leavers.length === 0) return [];
  const leaverIds = leavers.map((l) => l.id);
  const enabled = await withEnabledAccount(db, leaverIds);
  const open = await withOpen(db, leaverIds, ["disable", "delete"]);
  const notices: LeaverNoticeData[] = [];
  for (const leaver of leavers) {
    const done = !enabled.has(leaver.id) && !open.has(leaver.id);
    if (done !== (which === "deprovisioned")) continue;
    const systems = await leaverSystems(db, leaver, slaHours, now);
    if (systems.length === 0) continue;
    const hours = Math.max(...systems.map((s) => s.hours));
    notices.push({
      identityId: leaver.id,
      employeeId: leaver.sourceKey,
      name: leaver.attributes.displayName,
      terminatedAt: leaver.stateSince,
      slaHours,
      hours,
      withinSla: done && hours <= slaHours,
      systems,
    });
  }
  return notices;
}

/**
 * Per system and account, what became of a leaver's account since the termination: the first confirmed disable or
 * delete (as the leavers report counts it), else a disable or delete that failed for good, else pending
 * (an open operation, or an account still enabled that no operation has touched yet).
 */
async function leaverSystems(db: Db, leaver: Identity, slaHours: number, now: Date): Promise<LeaverSystem[]> {
  const terminatedAt = leaver.stateSince;
  const ops = await db
    .selectFrom("operations")
    .select(["system", "username", "kind", "state", "last_error", "finished_at"])
    .where("identity_id", "=", leaver.id)
    .where("kind", "in", ["disable", "delete"])
    .where((eb) => eb.or([eb("finished_at", ">=", terminatedAt), eb("state", "in", [...OPEN_STATES])]))
    .execute();
  // Keyed by account: a leaver may hold two accounts in one system (a personal and an admin one).
  const bySystem = new Map<string, LeaverSystem>();
  const keyOf = (system: string, username: string) => `${system}\u0000${username}`;
  const pendingAt = now.toISOString();
  for (const op of [...ops].sort((a, b) => (a.finished_at ?? "~").localeCompare(b.finished_at ?? "~"))) {
    const known = bySystem.get(keyOf(op.system, op.username));
    if (known !== undefined && (known.status === "disabled" || known.status === "deleted")) continue;
    if (op.state === "succeeded" && op.finished_at !== null) {
      const hours = hoursBetween(terminatedAt, op.finished_at);
      bySystem.set(keyOf(op.system, op.username), {
        system: op.system,
        username: op.username,
        status: op.kind === "delete" ? "deleted" : "disabled",
        at: op.finished_at,
        hours,
        withinSla: hours <= slaHours,
        error: null,
      });
      continue;
    }
    const hours = hoursBetween(terminatedAt, pendingAt);
    bySystem.set(keyOf(op.system, op.username), {
      system: op.system,
      username: op.username,
      status: op.state === "dead" ? "failed" : "pending",
      at: null,
      hours,
      withinSla: hours <= slaHours,
      error: op.state === "dead" ? (op.last_error ?? "no error recorded") : null,
    });
  }
  // An account still enabled is not deprovisioned, whatever an operation said (enabled again by hand).
  const stillEnabled = await db
    .selectFrom("accounts")
    .select(["system", "username"])
    .where("identity_id", "=", leaver.id)
    .where("enabled", "=", 1)
    .where("vanished_at", "is", null)
    .execute();
  for (const a of stillEnabled) {
    const known = bySystem.get(keyOf(a.system, a.username));
    if (known !== undefined && (known.status === "failed" || known.status === "pending")) continue;
    const hours = hoursBetween(terminatedAt, pendingAt);
    bySystem.set(keyOf(a.system, a.username), {
      system: a.system,
      username: a.username,
      status: "pending",
      at: null,
      hours,
      withinSla: hours <= slaHours,
      error: null,
    });
  }
  return [...bySystem.values()].sort(
    (a, b) => a.system.localeCompare(b.system) || a.username.localeCompare(b.username),
  );
}

/** How far back {@link queueLeaverSlaBreaches} looks for terminations (as the report alerts do). */
const BREACH_LOOKBACK_MS = 30 * 24 * HOUR_MS;

/**
 * `leaver.sla-breached`, on the clock: every identity terminated in the last 30 days, more than
 * `lifecycle.leaver.slaHours` ago, that still has an enabled account or a disable or delete not done,
 * gets one message to the security contacts listing each system's state. Queued once per termination
 * (the dedupe key), so the job may run every few minutes. Returns how many leavers are past the SLA.
 */
export async function queueLeaverSlaBreaches(
  db: Db,
  config: LifecycleNoticeConfig,
  now: Date,
): Promise<number> {
  if (config.notify === undefined || !routed(config, "leaver.sla-breached")) return 0;
  const slaHours = slaOf(config);
  const cutoff = new Date(now.getTime() - slaHours * HOUR_MS).toISOString();
  const from = new Date(now.getTime() - BREACH_LOOKBACK_MS).toISOString();
  const rows = await db
    .selectFrom("identities")
    .select("id")
    .where("state", "=", "terminated")
    .where("state_since", ">=", from)
    .where("state_since", "<", cutoff)
    .execute();
  if (rows.length === 0) return 0;
  const notices = await leaverNotices(
    db,
    rows.map((r) => r.id),
    slaHours,
    now,
    "breached",
  );
  if (notices.length > 0) {
    await enqueueNotificationsMany(
      db,
      notices.map((data) => ({ name: "leaver.sla-breached", data })),
      config,
      now,
    );
  }
  return notices.length;
}
