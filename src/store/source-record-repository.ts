import type { Kysely, Transaction } from "kysely";
import type { Database, SourceRecordsTable } from "./schema-types.js";

type Db = Kysely<Database> | Transaction<Database>;

// 8 columns a row: 4,000 rows stay under SQLite's bound-parameter limit.
const CHUNK = 4000;

export interface StoredSourceRecord {
  id: string;
  source: string;
  key: string;
  row: number;
  contentHash: string;
  raw: Record<string, string>;
  attributes: Record<string, unknown>;
  receivedAt: string;
}

/** Worker records as received, kept so every identity change can point at the record that caused it. */
export const sourceRecordRepository = {
  async insertMany(db: Db, records: readonly StoredSourceRecord[]): Promise<void> {
    for (let i = 0; i < records.length; i += CHUNK) {
      const rows: SourceRecordsTable[] = records.slice(i, i + CHUNK).map((r) => ({
        id: r.id,
        source: r.source,
        record_key: r.key,
        row_number: r.row,
        content_hash: r.contentHash,
        raw: JSON.stringify(r.raw),
        attributes: JSON.stringify(r.attributes),
        received_at: r.receivedAt,
      }));
      await db.insertInto("source_records").values(rows).execute();
    }
  },

  async findById(db: Db, id: string): Promise<StoredSourceRecord | undefined> {
    const r = await db.selectFrom("source_records").selectAll().where("id", "=", id).executeTakeFirst();
    if (r === undefined) return undefined;
    return {
      id: r.id,
      source: r.source,
      key: r.record_key,
      row: Number(r.row_number),
      contentHash: r.content_hash,
      raw: JSON.parse(r.raw),
      attributes: JSON.parse(r.attributes),
      receivedAt: r.received_at,
    };
  },
};
