import { sql } from "kysely";
import type { Db } from "./schema-types.js";

/** Operations in one state on one system. */
export interface OperationCount {
  system: string;
  state: string;
  count: number;
}

/** The oldest operation still waiting on one system, by when it was queued. */
export interface OldestWaiting {
  system: string;
  createdAt: string;
  waiting: number;
}

/**
 * The aggregates the `/metrics` endpoint reads at scrape time (api/metrics/store-metrics.ts): counts
 * grouped in SQL, a handful of rows whatever the size of the tables. Any process answers the same,
 * since they come from the store rather than from the process that did the work.
 */
export const metricsRepository = {
  async operationsBySystemAndState(db: Db): Promise<OperationCount[]> {
    const rows = await db
      .selectFrom("operations")
      .select(["system", "state", sql<number>`count(*)`.as("n")])
      .groupBy(["system", "state"])
      .execute();
    return rows.map((r) => ({ system: r.system, state: r.state, count: Number(r.n) }));
  },

  /** Per system, the oldest operation not yet done (pending, running, awaiting a person, failed and retrying). */
  async oldestWaiting(db: Db): Promise<OldestWaiting[]> {
    const rows = await db
      .selectFrom("operations")
      .select(["system", sql<string>`min(created_at)`.as("oldest"), sql<number>`count(*)`.as("n")])
      .where("state", "in", ["pending", "running", "awaiting", "failed"])
      .groupBy("system")
      .execute();
    return rows.map((r) => ({ system: r.system, createdAt: r.oldest, waiting: Number(r.n) }));
  },

  /** Outbox rows by state, and the oldest not yet sent (null: none waiting). */
  async notifications(db: Db): Promise<{ byState: Record<string, number>; oldestWaiting: string | null }> {
    const [rows, oldest] = await Promise.all([
      db
        .selectFrom("notifications")
        .select(["state", sql<number>`count(*)`.as("n")])
        .groupBy("state")
        .execute(),
      db
        .selectFrom("notifications")
        .select(sql<string | null>`min(created_at)`.as("oldest"))
        .where("state", "in", ["pending", "sending"])
        .executeTakeFirst(),
    ]);
    return {
      byState: Object.fromEntries(rows.map((r) => [r.state, Number(r.n)])),
      oldestWaiting: oldest?.oldest ?? null,
    };
  },

  /** Each source's last recorded run (only a sync that wrote records one). */
  async lastSourceRuns(db: Db): Promise<Array<{ source: string; finishedAt: string; summary: string }>> {
    const rows = await db
      .selectFrom("source_runs as r")
      .select(["r.source", "r.finished_at", "r.summary"])
      .where("r.dry_run", "=", 0)
      .where(({ eb, selectFrom }) =>
        eb(
          "r.finished_at",
          "=",
          selectFrom("source_runs as s")
            .select(sql<string>`max(s.finished_at)`.as("m"))
            .whereRef("s.source", "=", "r.source")
            .where("s.dry_run", "=", 0),
        ),
      )
      .execute();
    return rows.map((r) => ({ source: r.source, finishedAt: r.finished_at, summary: r.summary }));
  },

  /** The ledger's length: the head's sequence number. */
  async ledgerSeq(db: Db): Promise<number> {
    const row = await db.selectFrom("audit_head").select("seq").where("id", "=", 1).executeTakeFirst();
    return row === undefined ? 0 : Number(row.seq);
  },
};
