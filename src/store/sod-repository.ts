import { sql } from "kysely";
import type { SodItem, SodSeverity } from "../domain/sod-types.js";
import { bulkInsert, usesDollar } from "./bulk-insert.js";
import { chunk } from "./chunk.js";
import type { Db, SodExceptionsTable, SodScansTable, SodViolationsTable } from "./schema-types.js";

/** One side of a stored violation: the access, and each reason it is held, in words. */
export interface ViolationSideRecord {
  item: SodItem;
  /** `role ap-clerk` / `erp:vendor-create`. */
  label: string;
  why: string[];
}

/** A violation as kept: open from when a scan first found it until one no longer does. */
export interface ViolationRecord {
  id: string;
  identityId: string;
  rule: string;
  severity: SodSeverity;
  /** The newer access is kept out of the plan until an exception is approved. */
  withheld: boolean;
  sides: ViolationSideRecord[];
  heldFrom: string;
  heldUntil: string | null;
  openedAt: string;
  /**
   * When a full scan last found it open (its opening, until a full scan has run since). Incremental
   * scans (after a sync, a push, a grant) do not advance it: one that finds what is stored writes nothing.
   */
  lastSeenAt: string;
  closedAt: string | null;
  /** `access ended`, `rule removed`, `identity left`. */
  closeReason: string | null;
}

/** An accepted violation: a mitigating control, a justification and an approver, until it expires. */
export interface SodException {
  id: string;
  identityId: string;
  rule: string;
  violationId: string | null;
  /** Set when the rule owner approved a request creating the conflict. */
  requestId: string | null;
  control: string;
  justification: string;
  approvedBy: string;
  approvedAt: string;
  expiresAt: string;
  revokedAt: string | null;
  revokedBy: string | null;
  endedAt: string | null;
}

export interface SodScanRecord {
  id: string;
  at: string;
  kind: "full" | "incremental";
  identities: number;
  open: number;
  opened: number;
  closed: number;
  bySeverity: Record<SodSeverity, number>;
  durationMs: number;
}

/** A violation from its row. */
export function violationFromRow(r: SodViolationsTable): ViolationRecord {
  return {
    id: r.id,
    identityId: r.identity_id,
    rule: r.rule,
    severity: r.severity as SodSeverity,
    withheld: Number(r.withheld) === 1,
    sides: JSON.parse(r.sides) as ViolationSideRecord[],
    heldFrom: r.held_from,
    heldUntil: r.held_until,
    openedAt: r.opened_at,
    lastSeenAt: r.last_seen_at,
    closedAt: r.closed_at,
    closeReason: r.close_reason,
  };
}

function violationToRow(v: ViolationRecord): SodViolationsTable {
  return {
    id: v.id,
    identity_id: v.identityId,
    rule: v.rule,
    severity: v.severity,
    withheld: v.withheld ? 1 : 0,
    sides: JSON.stringify(v.sides),
    held_from: v.heldFrom,
    held_until: v.heldUntil,
    opened_at: v.openedAt,
    last_seen_at: v.lastSeenAt,
    closed_at: v.closedAt,
    close_reason: v.closeReason,
  };
}

const VIOLATION_COLUMNS = [
  "id",
  "identity_id",
  "rule",
  "severity",
  "withheld",
  "sides",
  "held_from",
  "held_until",
  "opened_at",
  "last_seen_at",
  "closed_at",
  "close_reason",
] as const satisfies readonly (keyof SodViolationsTable)[];

/** An exception from its row. */
export function exceptionFromRow(r: SodExceptionsTable): SodException {
  return {
    id: r.id,
    identityId: r.identity_id,
    rule: r.rule,
    violationId: r.violation_id,
    requestId: r.request_id,
    control: r.control,
    justification: r.justification,
    approvedBy: r.approved_by,
    approvedAt: r.approved_at,
    expiresAt: r.expires_at,
    revokedAt: r.revoked_at,
    revokedBy: r.revoked_by,
    endedAt: r.ended_at,
  };
}

function scanFromRow(r: SodScansTable): SodScanRecord {
  return {
    id: r.id,
    at: r.at,
    kind: r.kind as SodScanRecord["kind"],
    identities: Number(r.identities),
    open: Number(r.open),
    opened: Number(r.opened),
    closed: Number(r.closed),
    bySeverity: JSON.parse(r.by_severity) as SodScanRecord["bySeverity"],
    durationMs: Number(r.duration_ms),
  };
}

const CHUNK = 500;

/** Violations found by separation-of-duties scans. */
export const sodViolationRepository = {
  /** Open violations: all, or of these identities / this rule. */
  async open(
    db: Db,
    filter: { identityIds?: readonly string[]; rule?: string } = {},
  ): Promise<ViolationRecord[]> {
    const ids = filter.identityIds;
    if (ids !== undefined && ids.length === 0) return [];
    const out: ViolationRecord[] = [];
    const chunks = ids === undefined ? [undefined] : chunk(ids, CHUNK);
    for (const part of chunks) {
      let q = db.selectFrom("sod_violations").selectAll().where("closed_at", "is", null);
      if (part !== undefined) q = q.where("identity_id", "in", part);
      if (filter.rule !== undefined) q = q.where("rule", "=", filter.rule);
      for (const r of await q.orderBy("opened_at").orderBy("id").execute()) out.push(violationFromRow(r));
    }
    return out;
  },

  async find(db: Db, id: string): Promise<ViolationRecord | undefined> {
    const row = await db.selectFrom("sod_violations").selectAll().where("id", "=", id).executeTakeFirst();
    return row === undefined ? undefined : violationFromRow(row);
  },

  /** Ids starting with `prefix` (as listings shorten them), at most `limit`. */
  async idsStartingWith(db: Db, prefix: string, limit: number): Promise<string[]> {
    const safe = prefix.replaceAll(/[^0-9a-f-]/gi, "");
    const rows = await db
      .selectFrom("sod_violations")
      .select("id")
      .where("id", ">=", safe)
      .where("id", "<", `${safe}\uffff`)
      .orderBy("id")
      .limit(limit)
      .execute();
    return rows.map((r) => r.id);
  },

  /** New violations, through the shared bulk insert (a first scan opens thousands). */
  async insertMany(db: Db, list: readonly ViolationRecord[]): Promise<void> {
    await bulkInsert(db, { table: "sod_violations", columns: VIOLATION_COLUMNS }, list.map(violationToRow));
  },

  /** A violation still found with other content: what collides now, and `lastSeenAt` as given. */
  async refresh(db: Db, v: ViolationRecord): Promise<void> {
    await db
      .updateTable("sod_violations")
      .set({
        sides: JSON.stringify(v.sides),
        severity: v.severity,
        withheld: v.withheld ? 1 : 0,
        held_from: v.heldFrom,
        held_until: v.heldUntil,
        last_seen_at: v.lastSeenAt,
      })
      .where("id", "=", v.id)
      .execute();
  },

  /** Marks every violation still seen by a full scan: one statement (PostgreSQL), or one per 500 (SQLite). */
  async touch(db: Db, ids: readonly string[], at: string): Promise<void> {
    if (ids.length === 0) return;
    if (usesDollar(db)) {
      await sql`update sod_violations set last_seen_at = ${at} where id = any(${[...ids]}::text[])`.execute(
        db,
      );
      return;
    }
    for (const part of chunk(ids, CHUNK)) {
      await db.updateTable("sod_violations").set({ last_seen_at: at }).where("id", "in", part).execute();
    }
  },

  async close(db: Db, ids: readonly string[], at: string, reason: string): Promise<void> {
    for (const part of chunk(ids, CHUNK)) {
      await db
        .updateTable("sod_violations")
        .set({ closed_at: at, close_reason: reason })
        .where("id", "in", part)
        .where("closed_at", "is", null)
        .execute();
    }
  },

  /** Violations opened or closed within [from, to): the period report. */
  async changedBetween(db: Db, from: string, to: string): Promise<ViolationRecord[]> {
    const rows = await db
      .selectFrom("sod_violations")
      .selectAll()
      .where((eb) =>
        eb.or([
          eb.and([eb("opened_at", ">=", from), eb("opened_at", "<", to)]),
          eb.and([eb("closed_at", ">=", from), eb("closed_at", "<", to)]),
        ]),
      )
      .orderBy("opened_at")
      .orderBy("id")
      .execute();
    return rows.map(violationFromRow);
  },

  /** Open violations by severity, counted in the database. */
  async countOpenBySeverity(db: Db): Promise<Record<SodSeverity, number>> {
    const rows = await db
      .selectFrom("sod_violations")
      .select(["severity", sql<number>`count(*)`.as("n")])
      .where("closed_at", "is", null)
      .groupBy("severity")
      .execute();
    const out: Record<SodSeverity, number> = { high: 0, medium: 0, low: 0 };
    for (const r of rows) if (r.severity in out) out[r.severity as SodSeverity] = Number(r.n);
    return out;
  },

  async insertScan(db: Db, s: SodScanRecord): Promise<void> {
    await db
      .insertInto("sod_scans")
      .values({
        id: s.id,
        at: s.at,
        kind: s.kind,
        identities: s.identities,
        open: s.open,
        opened: s.opened,
        closed: s.closed,
        by_severity: JSON.stringify(s.bySeverity),
        duration_ms: Math.round(s.durationMs),
      })
      .execute();
  },

  /** The newest scans first, for the trend. */
  async scans(db: Db, limit: number): Promise<SodScanRecord[]> {
    const rows = await db
      .selectFrom("sod_scans")
      .selectAll()
      .orderBy("at", "desc")
      .orderBy("id", "desc")
      .limit(limit)
      .execute();
    return rows.map(scanFromRow);
  },
};

/** Exceptions accepting violations for a while. */
export const sodExceptionRepository = {
  async insert(db: Db, e: SodException): Promise<void> {
    await db
      .insertInto("sod_exceptions")
      .values({
        id: e.id,
        identity_id: e.identityId,
        rule: e.rule,
        violation_id: e.violationId,
        request_id: e.requestId,
        control: e.control,
        justification: e.justification,
        approved_by: e.approvedBy,
        approved_at: e.approvedAt,
        expires_at: e.expiresAt,
        revoked_at: e.revokedAt,
        revoked_by: e.revokedBy,
        ended_at: e.endedAt,
      })
      .execute();
  },

  async find(db: Db, id: string): Promise<SodException | undefined> {
    const row = await db.selectFrom("sod_exceptions").selectAll().where("id", "=", id).executeTakeFirst();
    return row === undefined ? undefined : exceptionFromRow(row);
  },

  /** Exceptions in force at `now` (approved, not revoked, not expired): of these identities, or all. */
  async inForce(db: Db, now: string, identityIds?: readonly string[]): Promise<SodException[]> {
    if (identityIds !== undefined && identityIds.length === 0) return [];
    const out: SodException[] = [];
    for (const part of identityIds === undefined ? [undefined] : chunk(identityIds, CHUNK)) {
      let q = db
        .selectFrom("sod_exceptions")
        .selectAll()
        .where("revoked_at", "is", null)
        .where("approved_at", "<=", now)
        .where("expires_at", ">", now);
      if (part !== undefined) q = q.where("identity_id", "in", part);
      for (const r of await q.execute()) out.push(exceptionFromRow(r));
    }
    return out;
  },

  /** Every exception, newest first; `state` filters by whether it is in force at `now`. */
  async list(
    db: Db,
    options: { now: string; state?: "in-force" | "ended"; identityId?: string; rule?: string },
  ): Promise<SodException[]> {
    let q = db.selectFrom("sod_exceptions").selectAll();
    if (options.identityId !== undefined) q = q.where("identity_id", "=", options.identityId);
    if (options.rule !== undefined) q = q.where("rule", "=", options.rule);
    if (options.state === "in-force") {
      q = q.where("revoked_at", "is", null).where("expires_at", ">", options.now);
    } else if (options.state === "ended") {
      q = q.where((eb) => eb.or([eb("revoked_at", "is not", null), eb("expires_at", "<=", options.now)]));
    }
    const rows = await q.orderBy("approved_at", "desc").orderBy("id", "desc").execute();
    return rows.map(exceptionFromRow);
  },

  /** Exceptions that have ended (expired or revoked) by `now` and whose end is not processed yet. */
  async endedUnprocessed(db: Db, now: string, limit: number): Promise<SodException[]> {
    const rows = await db
      .selectFrom("sod_exceptions")
      .selectAll()
      .where("ended_at", "is", null)
      .where((eb) => eb.or([eb("expires_at", "<=", now), eb("revoked_at", "is not", null)]))
      .orderBy("expires_at")
      .limit(limit)
      .execute();
    return rows.map(exceptionFromRow);
  },

  /** The earliest expiry still to process, for the timer. */
  async nextExpiry(db: Db): Promise<string | null> {
    const row = await db
      .selectFrom("sod_exceptions")
      .select("expires_at")
      .where("ended_at", "is", null)
      .where("revoked_at", "is", null)
      .orderBy("expires_at")
      .limit(1)
      .executeTakeFirst();
    return row?.expires_at ?? null;
  },

  async markEnded(db: Db, id: string, at: string): Promise<boolean> {
    const r = await db
      .updateTable("sod_exceptions")
      .set({ ended_at: at })
      .where("id", "=", id)
      .where("ended_at", "is", null)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  },

  async revoke(db: Db, id: string, by: string, at: string): Promise<boolean> {
    const r = await db
      .updateTable("sod_exceptions")
      .set({ revoked_at: at, revoked_by: by })
      .where("id", "=", id)
      .where("revoked_at", "is", null)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  },
};
