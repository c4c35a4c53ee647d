import type { Db } from "../store/schema-types.js";
import { GENESIS_HASH } from "./ledger.js";
import { listCheckpoints } from "./ledger-checkpoints.js";
import { headSignatureProblem, type SignedHead, type VerifyingKey } from "./ledger-signing.js";

/** One published head that does not hold, and why. */
export interface HeadMismatch {
  /** Where the head came from: `database` (ledger_heads) or the heads file's path and line. */
  source: string;
  seq: number;
  problem: string;
}

/** The outcome of {@link verifyHeads}. */
export interface HeadsVerification {
  ok: boolean;
  /** Heads compared with the ledger. */
  checked: number;
  /** Heads inside an archived segment (not at its cut): the archive file is what they check. */
  archived: number;
  /** False when no key was given: hashes were compared, signatures were not. */
  signaturesChecked: boolean;
  mismatches: HeadMismatch[];
}

/** A head and where it was read from, for messages. */
export interface SourcedHead extends SignedHead {
  source: string;
}

const LOOKUP_CHUNK = 500;

/**
 * Checks published heads against the ledger in the database: each head's signature under one of `keys`
 * (skipped when none is given), and that the event at its seq has its hash — so a database whose chain
 * was rewritten, or replaced wholesale by another chain, fails against heads kept outside it. A head
 * past the last event says the ledger was truncated or replaced; a head at an archive cut is compared
 * with the checkpoint; one inside an archived segment is counted as `archived` (its archive file holds
 * the event). Reads only.
 */
export async function verifyHeads(
  db: Db,
  heads: readonly SourcedHead[],
  keys: readonly VerifyingKey[],
): Promise<HeadsVerification> {
  const mismatches: HeadMismatch[] = [];
  const head = await db
    .selectFrom("audit_head")
    .select(["seq", "hash"])
    .where("id", "=", 1)
    .executeTakeFirst();
  const headSeq = Number(head?.seq ?? 0);
  const checkpoints = await listCheckpoints(db);
  const cutHashes = new Map(checkpoints.map((c) => [c.seq, c.hash]));
  const archivedUpTo = checkpoints[0]?.seq ?? 0;
  const live = heads.filter((h) => h.seq > archivedUpTo);
  const hashes = await eventHashes(
    db,
    live.map((h) => h.seq),
  );
  let checked = 0;
  let archived = 0;
  for (const h of heads) {
    const miss = (problem: string) => mismatches.push({ source: h.source, seq: h.seq, problem });
    if (keys.length > 0) {
      const problem = headSignatureProblem(h, keys);
      if (problem !== undefined) {
        miss(problem);
        continue;
      }
    }
    let actual: string | undefined;
    if (h.seq === 0) actual = GENESIS_HASH;
    else if (h.seq <= archivedUpTo) {
      actual = cutHashes.get(h.seq);
      if (actual === undefined) {
        archived += 1;
        continue;
      }
    } else actual = hashes.get(h.seq);
    checked += 1;
    if (actual === undefined) {
      miss(
        h.seq > headSeq
          ? `the published head reached event ${h.seq}, but the ledger in the database ends at event ${headSeq} (truncated, or the database replaced?)`
          : `event ${h.seq} is missing from the database (deleted?)`,
      );
    } else if (actual !== h.hash) {
      miss(
        `event ${h.seq} has hash ${short(actual)} in the database, but the published head says ${short(h.hash)} (the chain was rewritten, or the database replaced)`,
      );
    }
  }
  return { ok: mismatches.length === 0, checked, archived, signaturesChecked: keys.length > 0, mismatches };
}

async function eventHashes(db: Db, seqs: readonly number[]): Promise<Map<number, string>> {
  const unique = [...new Set(seqs)];
  const found = new Map<number, string>();
  for (let i = 0; i < unique.length; i += LOOKUP_CHUNK) {
    const rows = await db
      .selectFrom("audit_events")
      .select(["seq", "hash"])
      .where("seq", "in", unique.slice(i, i + LOOKUP_CHUNK))
      .execute();
    for (const r of rows) found.set(Number(r.seq), r.hash);
  }
  return found;
}

function short(hash: string): string {
  return `${hash.slice(0, 16)}…`;
}

/**
 * The heads in a heads file (the `file` sink's JSON Lines: one signed head per line). Blank lines are
 * skipped; a line that is not a head is a mismatch naming its line (seq -1 when it has none).
 */
export function parseHeadsFile(
  text: string,
  file: string,
): { heads: SourcedHead[]; problems: HeadMismatch[] } {
  const heads: SourcedHead[] = [];
  const problems: HeadMismatch[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === "") continue;
    const source = `${file}:${i + 1}`;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      problems.push({ source, seq: -1, problem: "not a JSON line" });
      continue;
    }
    const h = value as Partial<SignedHead>;
    if (
      typeof h !== "object" ||
      h === null ||
      !Number.isSafeInteger(h.seq) ||
      typeof h.hash !== "string" ||
      typeof h.time !== "string" ||
      typeof h.keyId !== "string" ||
      typeof h.signature !== "string"
    ) {
      problems.push({
        source,
        seq: typeof h?.seq === "number" ? h.seq : -1,
        problem: "not a signed head ({seq, hash, time, keyId, signature})",
      });
      continue;
    }
    heads.push({ seq: h.seq!, hash: h.hash, time: h.time, keyId: h.keyId, signature: h.signature, source });
  }
  return { heads, problems };
}
