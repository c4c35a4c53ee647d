import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";

/** A closed range of seqs, checked by one worker. */
export interface SeqRange {
  lo: number;
  hi: number;
}

/**
 * What a worker found in its range. `ok` means: seqs lo…hi all present, each event's
 * prev_hash is the hash of the one before it inside the range, and every hash matches its
 * event. The range's first prev_hash is returned for the caller to stitch onto the range
 * before it; a worker never says what is wrong — the sequential verifier does that.
 */
export type RangeResult = { ok: true; firstPrevHash: string; lastHash: string } | { ok: false };

// Runs in a worker thread as a CommonJS script, so it loads the same way under tsx, vitest and
// the compiled CLI (a worker file would need its own build step). It re-states the hash
// formula of ledger.ts's hashFields; the ledger tests hold the two to the same answers.
const WORKER_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const { hash } = require("node:crypto");
const Database = require(workerData.driver);
const { file, lo, hi, chunk } = workerData;
function run() {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const stmt = db
      .prepare("select seq, time, actor, action, subject, details, prev_hash, hash from audit_events where seq >= ? and seq <= ? order by seq limit ?")
      .raw();
    let next = lo;
    let prev = null;
    let first = null;
    for (;;) {
      const rows = stmt.all(next, hi, chunk);
      if (rows.length === 0) break;
      for (const r of rows) {
        if (r[0] !== next) return { ok: false };
        if (prev === null) first = r[6];
        else if (r[6] !== prev) return { ok: false };
        const h = hash(
          "sha256",
          r[6] + '\\n{"action":' + JSON.stringify(r[3]) + ',"actor":' + JSON.stringify(r[2]) +
            ',"details":' + r[5] + ',"seq":' + r[0] +
            ',"subject":' + JSON.stringify(r[4]) + ',"time":' + JSON.stringify(r[1]) + "}",
          "hex",
        );
        if (h !== r[7]) return { ok: false };
        prev = h;
        next += 1;
      }
      parentPort.postMessage({ progress: rows.length });
    }
    if (next !== hi + 1) return { ok: false };
    return { ok: true, firstPrevHash: first, lastHash: prev };
  } finally {
    db.close();
  }
}
parentPort.postMessage({ result: run() });
`;

/**
 * Checks each range in its own worker thread, each with its own read-only better-sqlite3
 * connection to `file`, and resolves with one result per range, in order. Meant for a
 * file-backed SQLite ledger in WAL mode, where readers neither block nor see uncommitted writes;
 * appends that land meanwhile only add seqs past the ranges.
 *
 * Rejects if a worker cannot start or open the file; the caller falls back to reading through
 * Kysely.
 */
export async function verifyRangesInWorkers(
  file: string,
  ranges: readonly SeqRange[],
  options: { chunkSize: number; onProgress?: (rows: number) => void },
): Promise<RangeResult[]> {
  const driver = createRequire(import.meta.url).resolve("better-sqlite3");
  const workers: Worker[] = [];
  try {
    return await Promise.all(
      ranges.map(
        (range) =>
          new Promise<RangeResult>((resolve, reject) => {
            const worker = new Worker(WORKER_SOURCE, {
              eval: true,
              workerData: { driver, file, lo: range.lo, hi: range.hi, chunk: options.chunkSize },
            });
            workers.push(worker);
            let settled = false;
            worker.on("message", (message: { progress?: number; result?: RangeResult }) => {
              if (message.progress !== undefined) options.onProgress?.(message.progress);
              if (message.result !== undefined) {
                settled = true;
                resolve(message.result);
              }
            });
            worker.once("error", (err) => {
              settled = true;
              reject(err);
            });
            worker.once("exit", (code) => {
              if (!settled)
                reject(new Error(`audit verify worker exited with code ${code} before answering`));
            });
          }),
      ),
    );
  } catch (err) {
    // One failed worker makes the whole answer useless; do not leave the others reading.
    await Promise.all(workers.map((w) => w.terminate()));
    throw err;
  }
}
