import { createHash } from "node:crypto";
import { jsonOf } from "../shared/json-text.js";
import { type BulkInsertSpec, bulkInsert } from "./bulk-insert.js";
import type { Db } from "./schema-types.js";

const SOURCE_RECORD_INSERT = {
  table: "source_records",
  columns: ["id", "source", "record_key", "row_number", "content_hash", "raw", "attributes", "received_at"],
} as const satisfies BulkInsertSpec;

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
  /** Stores records; each one's content hash is the SHA-256 of its raw row as stored. */
  async insertMany(db: Db, records: readonly Omit<StoredSourceRecord, "contentHash">[]): Promise<void> {
    await bulkInsert(
      db,
      SOURCE_RECORD_INSERT,
      records.map((r) => {
        const raw = JSON.stringify(r.raw);
        return [
          r.id,
          r.source,
          r.key,
          r.row,
          createHash("sha256").update(raw).digest("hex"),
          raw,
          jsonOf(r.attributes),
          r.receivedAt,
        ];
      }),
    );
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
