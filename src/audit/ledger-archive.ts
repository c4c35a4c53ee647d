import { rm } from "node:fs/promises";
import path from "node:path";
import type { Kysely } from "kysely";
import { InvalidInputError, TenureError } from "../shared/errors.js";
import type { Database } from "../store/schema-types.js";
import { appendEvents } from "./ledger.js";
import { latestCheckpoint } from "./ledger-checkpoints.js";
import { type ExportSummary, exportLedger } from "./ledger-export.js";
import type { SigningKey } from "./ledger-signing.js";

/** The audit action recorded when a segment is archived. */
export const ARCHIVED_ACTION = "audit.archived";

export interface ArchiveOptions {
  key: SigningKey;
  now: Date;
  actor: string;
  onProgress?: (written: number, total: number) => void;
}

/**
 * Moves the events before `before` out of the database into `file` (an export, signed, as
 * {@link exportLedger} writes it), keeping the chain verifiable across the cut:
 *
 * 1. the segment — from the event after the latest checkpoint (or event 1) to the last event of the
 *    prefix of events timed before `before` — is exported and checked as it is read (a broken chain is
 *    not archived), to a file that must not exist yet, fsynced with its folder;
 * 2. then ONE transaction re-checks that the segment's last event still has the hash written, deletes
 *    the segment from `audit_events`, records the cut in `ledger_checkpoints` (seq, hash, file, SHA-256
 *    of the file) and appends an `audit.archived` event.
 *
 * `verifyLedger` then starts from the cut; the archive file verifies the rest (docs/audit-verify.md).
 * When the transaction fails, the file is removed and the database is as it was.
 * @throws InvalidInputError when no event is old enough, or the chain is broken (nothing changes).
 */
export async function archiveLedger(
  db: Kysely<Database>,
  before: Date,
  file: string,
  options: ArchiveOptions,
): Promise<ExportSummary> {
  const cut = await latestCheckpoint(db);
  const fromSeq = (cut?.seq ?? 0) + 1;
  const first = await db
    .selectFrom("audit_events")
    .select("seq")
    .where("seq", "=", fromSeq)
    .executeTakeFirst();
  const firstLater = await db
    .selectFrom("audit_events")
    .select("seq")
    .where("time", ">=", before.toISOString())
    .orderBy("seq")
    .limit(1)
    .executeTakeFirst();
  const last = await db
    .selectFrom("audit_events")
    .select((eb) => eb.fn.max("seq").as("seq"))
    .executeTakeFirstOrThrow();
  const toSeq = firstLater === undefined ? Number(last.seq ?? 0) : Number(firstLater.seq) - 1;
  if (first === undefined || toSeq < fromSeq) {
    throw new InvalidInputError(
      `nothing to archive: no event before ${before.toISOString()} is left in the database${cut === undefined ? "" : ` (events up to ${cut.seq} were archived on ${cut.archivedAt})`}`,
    );
  }
  const absolute = path.resolve(file);
  const written = await exportLedger(db, { fromSeq, toSeq }, absolute, {
    key: options.key,
    now: options.now,
    exclusive: true,
    ...(options.onProgress === undefined ? {} : { onProgress: options.onProgress }),
  });
  try {
    await db.transaction().execute(async (trx) => {
      // Lock the head as appenders do, so nothing is appended between the check and the delete.
      await trx
        .updateTable("audit_head")
        .set((eb) => ({ seq: eb.ref("seq") }))
        .where("id", "=", 1)
        .execute();
      const lastRow = await trx
        .selectFrom("audit_events")
        .select("hash")
        .where("seq", "=", toSeq)
        .executeTakeFirst();
      const counted = await trx
        .selectFrom("audit_events")
        .select((eb) => eb.fn.countAll().as("n"))
        .where("seq", ">=", fromSeq)
        .where("seq", "<=", toSeq)
        .executeTakeFirstOrThrow();
      if (lastRow?.hash !== written.lastHash || Number(counted.n) !== written.events) {
        throw new TenureError(
          "ledger_changed",
          `the ledger changed while event ${fromSeq}–${toSeq} were being archived; nothing was deleted, try again`,
        );
      }
      await trx.deleteFrom("audit_events").where("seq", "<=", toSeq).execute();
      await trx
        .insertInto("ledger_checkpoints")
        .values({
          seq: toSeq,
          hash: written.lastHash,
          first_seq: fromSeq,
          events: written.events,
          archived_at: options.now.toISOString(),
          file: absolute,
          sha256: written.sha256,
        })
        .execute();
      await appendEvents(trx, [
        {
          time: options.now.toISOString(),
          actor: options.actor,
          action: ARCHIVED_ACTION,
          subject: "ledger",
          details: {
            firstSeq: fromSeq,
            lastSeq: toSeq,
            hash: written.lastHash,
            events: written.events,
            before: before.toISOString(),
            file: absolute,
            sha256: written.sha256,
          },
        },
      ]);
    });
  } catch (err) {
    await rm(absolute, { force: true });
    throw err;
  }
  return { ...written, file: absolute };
}
