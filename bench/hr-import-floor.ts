/**
 * The floor of the HR import bench: a bare csv-parse + better-sqlite3 script that writes what
 * `tenure sync` writes for a first import — one identity, one source record and one hash-chained
 * audit event per row — into a Tenure store (its schema), in one transaction, with multi-row
 * prepared INSERTs. No validation, no lifecycle, no mapping beyond the columns. Run as a process by
 * bench/hr-import.bench.ts so its time and peak RSS compare with the command's:
 *   node --import tsx bench/hr-import-floor.ts CSV SQLITE_FILE
 */
import { createHash, randomUUID } from "node:crypto";
import { createReadStream } from "node:fs";
import Database from "better-sqlite3";
import { parse } from "csv-parse";

const [csvPath, dbPath] = process.argv.slice(2);
if (csvPath === undefined || dbPath === undefined) throw new Error("usage: hr-import-floor.ts CSV SQLITE");
const at = "2026-11-21T10:00:00.000Z";
const BATCH = 500;

const db = new Database(dbPath);
db.pragma("journal_mode = WAL");
db.pragma("synchronous = NORMAL");
// As the store sets it (src/store/database.ts): the same page cache for the same inserts.
db.pragma("cache_size = -65536");

function insertOf(table: string, columns: string[]) {
  const one = `(${columns.map(() => "?").join(",")})`;
  const sql = (n: number) =>
    `INSERT INTO ${table} (${columns.join(",")}) VALUES ${Array(n).fill(one).join(",")}`;
  const full = db.prepare(sql(BATCH));
  return (rows: unknown[][]) => {
    if (rows.length === 0) return;
    (rows.length === BATCH ? full : db.prepare(sql(rows.length))).run(rows.flat());
  };
}
const insertIdentities = insertOf("identities", [
  "id",
  "kind",
  "source",
  "source_key",
  "email",
  "state",
  "attributes",
  "employment",
  "state_since",
  "created_at",
  "updated_at",
  "last_record_id",
  "department",
  "search_text",
]);
const insertRecords = insertOf("source_records", [
  "id",
  "source",
  "record_key",
  "row_number",
  "content_hash",
  "raw",
  "attributes",
  "received_at",
]);
const insertEvents = insertOf("audit_events", [
  "seq",
  "time",
  "actor",
  "action",
  "subject",
  "details",
  "prev_hash",
  "hash",
]);

const head = db.prepare("SELECT seq, hash FROM audit_head WHERE id = 1").get() as {
  seq: number;
  hash: string;
};
let seq = head.seq;
let prevHash = head.hash;
let identities: unknown[][] = [];
let records: unknown[][] = [];
let events: unknown[][] = [];
let row = 0;
const flush = () => {
  insertRecords(records);
  insertIdentities(identities);
  insertEvents(events);
  identities = [];
  records = [];
  events = [];
};

db.exec("BEGIN IMMEDIATE");
const parser = createReadStream(csvPath).pipe(parse({ bom: true, columns: true }));
for await (const raw of parser as AsyncIterable<Record<string, string>>) {
  row += 1;
  const attributes: Record<string, string | null> = {};
  for (const [k, v] of Object.entries(raw)) attributes[k] = v === "" ? null : v;
  attributes.displayName = `${raw.givenName} ${raw.familyName}`;
  const attributesJson = JSON.stringify(attributes);
  const rawJson = JSON.stringify(raw);
  const id = randomUUID();
  const recordId = randomUUID();
  const key = raw.employeeId!;
  records.push([
    recordId,
    "hr",
    key,
    row,
    createHash("sha256").update(rawJson).digest("hex"),
    rawJson,
    attributesJson,
    at,
  ]);
  identities.push([
    id,
    "worker",
    "hr",
    key,
    raw.email?.toLowerCase() || null,
    "active",
    attributesJson,
    1,
    at,
    at,
    at,
    recordId,
    raw.department || null,
    [key, raw.email, attributes.displayName, id].join("\n").toLowerCase(),
  ]);
  seq += 1;
  const details = `{"attributes":${attributesJson},"cause":"record","recordId":${JSON.stringify(recordId)},"row":${row},"source":"hr","state":"active"}`;
  const input = `${prevHash}\n{"action":"identity.created","actor":"floor","details":${details},"seq":${seq},"subject":"${id}","time":"${at}"}`;
  const hash = createHash("sha256").update(input).digest("hex");
  events.push([seq, at, "floor", "identity.created", id, details, prevHash, hash]);
  prevHash = hash;
  if (identities.length === BATCH) flush();
}
flush();
db.prepare("UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1").run(seq, prevHash);
db.exec("COMMIT");
db.close();
console.log(JSON.stringify({ rows: row }));
