import { createHash } from "node:crypto";
import { link, open, rename, rm } from "node:fs/promises";
import path from "node:path";
import { InvalidInputError, NotFoundError } from "../shared/errors.js";
import type { Db } from "../store/schema-types.js";
import { canonicalJson } from "./canonical-json.js";
import { computeEventHash, GENESIS_HASH, ledgerSeqBounds } from "./ledger.js";
import { latestCheckpoint } from "./ledger-checkpoints.js";
import { type SigningKey, signHead, signText } from "./ledger-signing.js";

/** Where a range starts or ends: an event's seq, or an instant. */
export type RangeBound = { seq: number } | { time: Date };

/** A closed range of seqs, both present in `audit_events`. */
export interface EventRange {
  fromSeq: number;
  toSeq: number;
}

/** What {@link exportLedger} wrote. */
export interface ExportSummary {
  /** The file, as given. */
  file: string;
  firstSeq: number;
  lastSeq: number;
  /** The previous-hash of the first event: the hash of the event before the range (genesis for seq 1). */
  firstPrevHash: string;
  lastHash: string;
  events: number;
  /** Published heads in the range, written after the events. */
  heads: number;
  keyId: string;
  /** SHA-256 (hex) of the file's bytes. */
  sha256: string;
  bytes: number;
}

export interface ExportOptions {
  key: SigningKey;
  /** The time the final line is signed at. */
  now: Date;
  /** Called after each chunk of events written. */
  onProgress?: (written: number, total: number) => void;
  /** Refuse to replace an existing file (archives). Default false. */
  exclusive?: boolean;
}

const CHUNK = 5000;

/**
 * The seqs a `--from` / `--to` pair names among the events still in the database. A seq is taken as
 * is; `from` as a time is the first event at or after it; `to` as a time is the last event of the
 * prefix of events at or before it (events are in seq order, and a clock pinned backwards can put a
 * later seq at an earlier time — the range never skips one). Absent: the first or last event.
 * @throws InvalidInputError when the range holds no event, naming what the ledger holds.
 */
export async function resolveRange(db: Db, from?: RangeBound, to?: RangeBound): Promise<EventRange> {
  const bounds = await ledgerSeqBounds(db);
  if (bounds === null) throw new InvalidInputError("the audit ledger holds no events to export");
  const lo = bounds.first;
  const hi = bounds.last;
  let fromSeq = lo;
  if (from !== undefined && "seq" in from) fromSeq = from.seq;
  else if (from !== undefined) {
    const first = await db
      .selectFrom("audit_events")
      .select("seq")
      .where("time", ">=", from.time.toISOString())
      .orderBy("seq")
      .limit(1)
      .executeTakeFirst();
    if (first === undefined) throw new InvalidInputError(`no event at or after ${from.time.toISOString()}`);
    fromSeq = Number(first.seq);
  }
  let toSeq = hi;
  if (to !== undefined && "seq" in to) toSeq = to.seq;
  else if (to !== undefined) {
    const after = await db
      .selectFrom("audit_events")
      .select("seq")
      .where("time", ">", to.time.toISOString())
      .orderBy("seq")
      .limit(1)
      .executeTakeFirst();
    toSeq = after === undefined ? hi : Number(after.seq) - 1;
  }
  if (fromSeq < lo) {
    throw new InvalidInputError(
      `event ${fromSeq} is not in the database: it holds events ${lo}–${hi}${lo > 1 ? " (earlier ones were archived)" : ""}`,
    );
  }
  if (toSeq > hi)
    throw new InvalidInputError(`event ${toSeq} is not in the database: the last event is ${hi}`);
  if (toSeq < fromSeq) throw new InvalidInputError(`the range holds no event (from ${fromSeq}, to ${toSeq})`);
  return { fromSeq, toSeq };
}

/**
 * Writes events `range` as JSON Lines, verifiable without Tenure (docs/audit-verify.md):
 * - one `{"type":"event",seq,time,actor,action,subject,details,prevHash,hash}` line per event;
 * - one `{"type":"head",seq,hash,time,keyId,signature}` line per published head inside the range;
 * - a final `{"type":"end",seq,hash,time,keyId,signature,firstSeq,firstPrevHash,count,rangeSignature}`:
 *   the last event's head signed now, and `rangeSignature` over the canonical JSON of
 *   `{count,firstPrevHash,firstSeq,hash,seq,time}`, so a file cut short at either end fails.
 *
 * Each event is checked as it is read (seqs without gaps, links, hashes; the first linked to the event
 * or checkpoint before it): a broken chain is not exported. The file is written beside its final name,
 * fsynced, then renamed, so a reader never sees half an export.
 * @throws InvalidInputError naming the first bad event when the chain is broken (nothing is written).
 */
export async function exportLedger(
  db: Db,
  range: EventRange,
  file: string,
  options: ExportOptions,
): Promise<ExportSummary> {
  const firstPrevHash = await prevHashBefore(db, range.fromSeq);
  const total = range.toSeq - range.fromSeq + 1;
  if (options.exclusive === true && (await exists(file))) {
    throw new InvalidInputError(`${file} exists already; choose a new file`);
  }
  const partial = `${file}.partial`;
  const handle = await open(partial, "w", 0o600).catch((err: NodeJS.ErrnoException) => {
    throw new InvalidInputError(`cannot write ${partial}: ${err.code ?? err.message}`);
  });
  const digest = createHash("sha256");
  let bytes = 0;
  const write = async (text: string) => {
    const buffer = Buffer.from(text, "utf8");
    digest.update(buffer);
    bytes += buffer.length;
    await handle.write(buffer);
  };
  let prevHash = firstPrevHash;
  let expected = range.fromSeq;
  let heads = 0;
  try {
    while (expected <= range.toSeq) {
      const rows = await db
        .selectFrom("audit_events")
        .select(["seq", "time", "actor", "action", "subject", "details", "prev_hash", "hash"])
        .where("seq", ">=", expected)
        .where("seq", "<=", range.toSeq)
        .orderBy("seq")
        .limit(CHUNK)
        .execute();
      if (rows.length === 0) throw brokenAt(expected, `event ${expected} is missing (deleted?)`);
      let text = "";
      for (const row of rows) {
        const seq = Number(row.seq);
        if (seq !== expected) throw brokenAt(expected, `event ${expected} is missing (deleted?)`);
        if (row.prev_hash !== prevHash)
          throw brokenAt(seq, `event ${seq}: its previous-hash does not link to the event before it`);
        if (computeEventHash(prevHash, { ...row, seq }, row.details) !== row.hash) {
          throw brokenAt(seq, `event ${seq}: hash does not match its contents (edited?)`);
        }
        text +=
          `{"type":"event","seq":${seq},"time":${JSON.stringify(row.time)},"actor":${JSON.stringify(row.actor)}` +
          `,"action":${JSON.stringify(row.action)},"subject":${JSON.stringify(row.subject)},"details":${row.details}` +
          `,"prevHash":"${row.prev_hash}","hash":"${row.hash}"}\n`;
        prevHash = row.hash;
        expected = seq + 1;
      }
      await write(text);
      options.onProgress?.(expected - range.fromSeq, total);
    }
    const published = await db
      .selectFrom("ledger_heads")
      .select(["seq", "hash", "time", "key_id", "signature"])
      .where("seq", ">=", range.fromSeq)
      .where("seq", "<=", range.toSeq)
      .orderBy("seq")
      .execute();
    for (const h of published) {
      await write(
        `${JSON.stringify({ type: "head", seq: Number(h.seq), hash: h.hash, time: h.time, keyId: h.key_id, signature: h.signature })}\n`,
      );
      heads += 1;
    }
    const end = signHead({ seq: range.toSeq, hash: prevHash }, options.now, options.key);
    const rangeFacts = {
      count: total,
      firstPrevHash,
      firstSeq: range.fromSeq,
      hash: end.hash,
      seq: end.seq,
      time: end.time,
    };
    await write(
      `${JSON.stringify({
        type: "end",
        ...end,
        firstSeq: range.fromSeq,
        firstPrevHash,
        count: total,
        rangeSignature: signText(canonicalJson(rangeFacts), options.key),
      })}\n`,
    );
    await handle.sync();
    await handle.close();
  } catch (err) {
    await handle.close().catch(() => {});
    await rm(partial, { force: true });
    throw err;
  }
  if (options.exclusive === true) {
    // link fails when the name is taken (rename would replace it): an archive never overwrites another.
    try {
      await link(partial, file);
    } catch (err) {
      throw new InvalidInputError(
        `cannot write ${file}: ${(err as NodeJS.ErrnoException).code ?? "link failed"}`,
      );
    } finally {
      await rm(partial, { force: true });
    }
  } else {
    await rename(partial, file);
  }
  await syncFolder(path.dirname(file));
  return {
    file,
    firstSeq: range.fromSeq,
    lastSeq: range.toSeq,
    firstPrevHash,
    lastHash: prevHash,
    events: total,
    heads,
    keyId: options.key.keyId,
    sha256: digest.digest("hex"),
    bytes,
  };
}

/** The hash event `seq` must link to: its predecessor's, the checkpoint's at a cut, or genesis for event 1. */
async function prevHashBefore(db: Db, seq: number): Promise<string> {
  if (seq === 1) return GENESIS_HASH;
  const before = await db
    .selectFrom("audit_events")
    .select("hash")
    .where("seq", "=", seq - 1)
    .executeTakeFirst();
  if (before !== undefined) return before.hash;
  const checkpoint = await latestCheckpoint(db);
  if (checkpoint?.seq === seq - 1) return checkpoint.hash;
  throw new NotFoundError(`event ${seq - 1}, which event ${seq} links to, is not in the database`);
}

function brokenAt(seq: number, problem: string): InvalidInputError {
  return new InvalidInputError(
    `the ledger is broken at event ${seq}, so it is not exported: ${problem}; run \`tenure audit verify\``,
  );
}

async function exists(file: string): Promise<boolean> {
  try {
    await (await open(file, "r")).close();
    return true;
  } catch {
    return false;
  }
}

// The rename or link is durable only once the folder's entry is on disk.
async function syncFolder(folder: string): Promise<void> {
  const handle = await open(folder, "r").catch(() => undefined);
  if (handle === undefined) return;
  try {
    await handle.sync();
  } catch {
    // Some file systems refuse fsync on a folder; the file itself is synced already.
  } finally {
    await handle.close();
  }
}
