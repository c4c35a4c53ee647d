import { SqliteAdapter, sql } from "kysely";
import { InvalidInputError } from "../shared/errors.js";
import type { Db } from "../store/schema-types.js";
import { loadCheckpoint } from "./access-checkpoint-slices.js";
import {
  type AccountAt,
  emptyReplay,
  OPERATION_ACTIONS,
  type ReplayState,
  replayEvent,
} from "./access-replay.js";
import { ACCOUNT_JOURNAL_ACTIONS } from "./account-journal-types.js";
import { ledgerSeqBounds } from "./ledger.js";

/*
 * Point in time: the state the ledger describes at an instant, replayed from the latest access
 * checkpoint before it (access-checkpoints.ts) or from genesis — never read from the current tables.
 *
 * "At T" means the chain up to its first event recorded after T: the events in seq order before the
 * first one whose time is later than T. (The chain's order is the authority; with clocks in step it is
 * simply every event at or before T.) A checkpoint at seq S is used only when every event up to S is at
 * or before T, so from a checkpoint and from genesis the answer is the same.
 */

/** Where a replay started and what it read. */
export interface ReplaySource {
  /** The access checkpoint it started from, or null: from the first event. */
  checkpointSeq: number | null;
  /** The first event after T (not replayed), or null when every event is at or before T. */
  cutSeq: number | null;
  /** Events replayed after the checkpoint. */
  events: number;
}

export interface ReplayOptions {
  /** Only this system's accounts and operations (who-had). */
  system?: string;
  /**
   * With `system`: of the checkpoint's desires, only this entitlement's (who-had for one entitlement).
   * The state's other desires are then partial: answer only about this entitlement.
   */
  entitlement?: string;
  /** False: replay from the first event even when a checkpoint would do (tests, benchmarks). */
  useCheckpoints?: boolean;
}

/** Seqs read per query: a window of the chain, so each query is an index range on (action, seq). */
const WINDOW = 50_000;

/**
 * The accounts (confirmed) and what Tenure last asked of them (desired), as the ledger had them at `at`.
 * @throws InvalidInputError when `at` is before the ledger's first event, or when the events between
 *   the latest checkpoint before `at` and the first event kept were archived (take an access
 *   checkpoint before archiving).
 */
export async function replayAt(
  db: Db,
  at: Date,
  options: ReplayOptions = {},
): Promise<{ state: ReplayState; source: ReplaySource }> {
  const atIso = at.toISOString();
  const state = emptyReplay();
  const checkpoint = options.useCheckpoints === false ? undefined : await checkpointBefore(db, atIso);
  let from = 0;
  if (checkpoint !== undefined) {
    from = checkpoint.seq;
    await loadCheckpoint(db, state, from, { system: options.system, entitlement: options.entitlement });
  }
  const bounds = await ledgerSeqBounds(db);
  const first = bounds?.first ?? null;
  const last = bounds?.last ?? 0;
  if (checkpoint === undefined) {
    const firstEvent =
      first === null
        ? undefined
        : await db.selectFrom("audit_events").select("time").where("seq", "=", first).executeTakeFirst();
    if (firstEvent === undefined)
      throw new InvalidInputError("the audit ledger is empty: it records nothing yet");
    if (first !== 1)
      throw new InvalidInputError(
        `events 1–${first! - 1} of the ledger were archived and no access checkpoint was taken before ${atIso}: the access held then cannot be replayed (tenure audit checkpoint before archiving keeps it)`,
      );
    if (atIso < firstEvent.time)
      throw new InvalidInputError(
        `${atIso} is before the ledger began (its first event is at ${firstEvent.time}): nothing is recorded then`,
      );
  } else if (first !== null && first > from + 1) {
    throw new InvalidInputError(
      `events ${from + 1}–${first - 1} were archived after the access checkpoint at event ${from}: the access at ${atIso} cannot be replayed`,
    );
  }

  // The first event after T, in seq order, reads rows from the checkpoint on until it meets one: every
  // event after the checkpoint when none is later than T (a question about now: a million rows at ten
  // million events). The time index says first, in one lookup, whether there is any.
  const later = await db
    .selectFrom("audit_events")
    .select("seq")
    .where("time", ">", atIso)
    .where("seq", ">", from)
    .limit(1)
    .executeTakeFirst();
  const cut =
    later === undefined
      ? undefined
      : await db
          .selectFrom("audit_events")
          .select("seq")
          .where("seq", ">", from)
          .where("time", ">", atIso)
          .orderBy("seq")
          .limit(1)
          .executeTakeFirst();
  const end = cut === undefined ? last + 1 : Number(cut.seq);
  const events = await replayRange(db, state, from, end, options.system);
  return {
    state,
    source: {
      checkpointSeq: checkpoint?.seq ?? null,
      cutSeq: cut === undefined ? null : end,
      events,
    },
  };
}

/**
 * Advances `state` by the journal and operation events with seq in (after, before), optionally only
 * of one system; returns how many it replayed. No checks: the caller chose the range.
 */
export async function replayRange(
  db: Db,
  state: ReplayState,
  after: number,
  before: number,
  system?: string,
): Promise<number> {
  let events = 0;
  for (let lo = after + 1; lo < before; lo += WINDOW) {
    const hi = Math.min(before, lo + WINDOW);
    for (const e of await windowEvents(db, lo, hi, system)) {
      replayEvent(state, e);
      events++;
    }
  }
  return events;
}

/** The latest access checkpoint whose events are all at or before `atIso`. */
async function checkpointBefore(db: Db, atIso: string): Promise<{ seq: number } | undefined> {
  const row = await db
    .selectFrom("access_checkpoints")
    .select("seq")
    .where("covers_until", "<=", atIso)
    .orderBy("seq", "desc")
    .limit(1)
    .executeTakeFirst();
  return row === undefined ? undefined : { seq: Number(row.seq) };
}

interface WindowEvent {
  seq: number;
  time: string;
  action: string;
  details: Record<string, unknown>;
}

const REPLAYED_ACTIONS = [...ACCOUNT_JOURNAL_ACTIONS, ...OPERATION_ACTIONS];

/**
 * The journal and operation events with seq in [lo, hi), in seq order. With a system: the events whose
 * details name it, read by the index on (details' system, seq) — the expression must be the index's
 * own, written per dialect (migration 2026-12-05T18-00-access-checkpoint-slices.ts).
 */
async function windowEvents(db: Db, lo: number, hi: number, system?: string): Promise<WindowEvent[]> {
  let q = db
    .selectFrom("audit_events")
    .select(["seq", "time", "action", "details"])
    .where("action", "in", REPLAYED_ACTIONS)
    .where("seq", ">=", lo)
    .where("seq", "<", hi)
    .orderBy("seq");
  if (system !== undefined) q = q.where(detailsSystem(db), "=", system);
  const rows: WindowEvent[] = [];
  for (const r of await q.execute()) {
    const details = JSON.parse(r.details) as Record<string, unknown>;
    rows.push({ seq: Number(r.seq), time: r.time, action: r.action, details });
  }
  return rows;
}

/** The system an event's details name, as `audit_events_system_seq_idx` indexes it. */
function detailsSystem(db: Db) {
  return db.getExecutor().adapter instanceof SqliteAdapter
    ? sql<string>`json_extract(details, '$.system')`
    : sql<string>`((details::jsonb) ->> 'system')`;
}

/** The accounts confirmed at `at` (vanished ones included, marked), optionally of one system. */
export async function accountsAt(
  db: Db,
  at: Date,
  options: ReplayOptions = {},
): Promise<{ accounts: AccountAt[]; source: ReplaySource }> {
  const { state, source } = await replayAt(db, at, options);
  const accounts = [...state.accounts.values()].sort(
    (x, y) => compareText(x.system, y.system) || compareText(x.username, y.username),
  );
  return { accounts, source };
}

/** Code-unit order: the same on every machine, whatever its locale. */
export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
