import type { Kysely } from "kysely";
import { accountRepository, type JournalRow } from "../store/account-repository.js";
import type { Database } from "../store/schema-types.js";
import { encodeCheckpoint, loadCheckpoint } from "./access-checkpoint-slices.js";
import { accountKey, emptyReplay, journaledOf, type ReplayState, replayEvent } from "./access-replay.js";
import {
  ACCOUNT_RECORDED,
  ACCOUNT_REMOVED,
  accountSubject,
  type JournaledAccount,
  sameAccountState,
} from "./account-journal-types.js";
import { type AuditEventInput, appendEvents } from "./ledger.js";
import { lockLedger } from "./ledger-lock.js";
import { replayRange } from "./point-in-time.js";

/** What `tenure audit checkpoint` (and the `audit-checkpoint` job) wrote. */
export interface AccessCheckpointResult {
  /** The ledger seq the checkpoint holds the state at. */
  seq: number;
  /** The latest event time up to `seq`: the checkpoint serves questions about instants from then on. */
  coversUntil: string;
  accounts: number;
  systems: number;
  /**
   * Accounts whose row differed from the journal (recorded before the journal existed, or written
   * around it): journalled now, with cause `checkpoint`, before the checkpoint was taken.
   */
  caughtUp: number;
  /** Events replayed since the previous checkpoint. */
  replayed: number;
}

/**
 * Takes an access checkpoint: the account journal and operations replayed to the ledger's head — from
 * the previous checkpoint — stored per system (desires per entitlement, access-checkpoint-slices.ts), so
 * point-in-time questions read only their part and replay only what follows.
 *
 * The bulk of the replay runs without locks; the last stretch runs in one transaction holding the
 * ledger's append lock, which also compares the journal with the `accounts` table and journals any row
 * it lacks (cause `checkpoint`): after that the journal and the table agree, and the checkpoint is
 * exactly what a replay from the first event gives. Safe to run at any time and concurrently (the second
 * waits for the lock); one checkpoint per head seq (an unchanged ledger reuses it).
 */
export async function takeAccessCheckpoint(
  db: Kysely<Database>,
  options: { now: Date; actor: string },
): Promise<AccessCheckpointResult> {
  const state = emptyReplay();
  const previous = await db
    .selectFrom("access_checkpoints")
    .select("seq")
    .orderBy("seq", "desc")
    .limit(1)
    .executeTakeFirst();
  let from = 0;
  if (previous !== undefined) {
    from = Number(previous.seq);
    await loadCheckpoint(db, state, from);
  }
  const unlocked = await headSeq(db);
  let replayed = await replayRange(db, state, from, unlocked + 1);

  return db.transaction().execute(async (trx) => {
    await lockLedger(trx);
    const head = await headSeq(trx);
    replayed += await replayRange(trx, state, unlocked, head + 1);
    const corrections = catchUp(state, await accountRepository.journalRows(trx, "all"), options);
    const appended = await appendEvents(trx, corrections);
    for (const e of appended)
      replayEvent(state, { seq: e.seq, time: e.time, action: e.action, details: e.details });
    const seq = appended.at(-1)?.seq ?? head;
    const latest = await trx
      .selectFrom("audit_events")
      .select((eb) => eb.fn.max("time").as("time"))
      .executeTakeFirst();
    const coversUntil = latest?.time ?? options.now.toISOString();
    const rows = encodeCheckpoint(state);
    const existing = await trx
      .selectFrom("access_checkpoints")
      .select("seq")
      .where("seq", "=", seq)
      .executeTakeFirst();
    // An empty ledger has nothing to hold.
    if (existing === undefined && seq > 0) {
      await trx
        .insertInto("access_checkpoints")
        .values({
          seq,
          covers_until: coversUntil,
          created_at: options.now.toISOString(),
          accounts: state.accounts.size,
        })
        .execute();
      for (const r of rows.accounts)
        await trx
          .insertInto("access_checkpoint_accounts")
          .values({ seq, ...r })
          .execute();
      for (const r of rows.desired)
        await trx
          .insertInto("access_checkpoint_desired")
          .values({ seq, ...r })
          .execute();
    }
    return {
      seq,
      coversUntil,
      accounts: state.accounts.size,
      systems: new Set([...rows.accounts, ...rows.desired].map((r) => r.system)).size,
      caughtUp: corrections.length,
      replayed,
    };
  });
}

async function headSeq(db: Kysely<Database>): Promise<number> {
  const head = await db.selectFrom("audit_head").select("seq").where("id", "=", 1).executeTakeFirst();
  return Number(head?.seq ?? 0);
}

/** Journal events that bring the replayed accounts in step with the table's rows. */
function catchUp(
  state: ReplayState,
  rows: readonly JournalRow[],
  options: { now: Date; actor: string },
): AuditEventInput[] {
  const time = options.now.toISOString();
  const events: AuditEventInput[] = [];
  const inTable = new Set<string>();
  for (const r of rows) {
    const key = accountKey(r.system, r.username);
    inTable.add(key);
    const row: JournaledAccount = {
      system: r.system,
      username: r.username,
      nativeId: r.nativeId,
      identityId: r.identityId,
      enabled: r.enabled,
      entitlements: JSON.parse(r.entitlementsJson) as string[],
      vanished: r.vanished,
    };
    const replayed = state.accounts.get(key);
    if (replayed !== undefined && sameAccountState(journaledOf(replayed), row)) continue;
    events.push({
      time,
      actor: options.actor,
      action: ACCOUNT_RECORDED,
      subject: accountSubject(r.system, r.username),
      details: { ...row, cause: "checkpoint" },
    });
  }
  for (const [key, a] of state.accounts) {
    if (inTable.has(key)) continue;
    events.push({
      time,
      actor: options.actor,
      action: ACCOUNT_REMOVED,
      subject: accountSubject(a.system, a.username),
      details: { system: a.system, username: a.username, identityId: a.identityId, cause: "checkpoint" },
    });
  }
  return events;
}
