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

function violationFromRow(r: SodViolationsTable): ViolationRecord {
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

function exceptionFromRow(r: SodExceptionsTable): SodException {
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
/** PostgreSQL reads a scan's population in this many parts at once (a power of two: the hash's low bits). */
const POPULATION_PARTS = 2;

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

  /** New violations, by precompiled multi-row statements (a first scan opens thousands). */
  async insertMany(db: Db, list: readonly ViolationRecord[]): Promise<void> {
    await bulkInsert(
      db,
      { table: "sod_violations", columns: VIOLATION_COLUMNS },
      list.map((v) => {
        const row = violationToRow(v);
        return VIOLATION_COLUMNS.map((c) => row[c]);
      }),
    );
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

  /** Marks every violation still seen by a full scan: one statement, not one per row. */
  async touch(db: Db, ids: readonly string[], at: string): Promise<void> {
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

/** One identity as a full separation-of-duties scan first reads it: enough to tell whether to evaluate it. */
export interface ScanPopulationRow {
  id: string;
  state: string;
  /** The attributes asked for, as a JSON array in that order; or all of them as a JSON object. */
  attributes: string;
  /** When its attributes last changed, if it has previous attributes (mover grace may apply). */
  movedAt: string | null;
  /** The entitlements asked for that its enabled accounts hold: `system␟key` joined by `␞`; null: none. */
  found: string | null;
}

/** The reads a full scan makes before it knows whom to evaluate: one row per identity, nothing parsed. */
export const sodScanRepository = {
  /**
   * Every identity, with the values of `attributes` (all of them when null) and, of the entitlements on
   * its enabled, present accounts, only those in `foundKeys` (`system␟key`), filtered and joined in SQL:
   * a scan of 100,000 people reads one short row each instead of every account's entitlements.
   */
  async population(
    db: Db,
    options: { attributes: readonly string[] | null; foundKeys: readonly string[] },
  ): Promise<ScanPopulationRow[]> {
    const postgres = usesDollar(db);
    const attributes = (() => {
      if (options.attributes === null) return sql<string>`i.attributes`;
      if (options.attributes.length === 0) return sql<string>`'[]'`;
      if (postgres) {
        const values = options.attributes.map((a) => sql`i.attributes::jsonb -> ${a}`);
        return sql<string>`jsonb_build_array(${sql.join(values)})::text`;
      }
      // With one path json_extract returns the value itself, with two or more a JSON array.
      const values = options.attributes.map((a) => sql`json_extract(i.attributes, ${`$."${a}"`})`);
      return sql<string>`json_array(${sql.join(values)})`;
    })();
    const found =
      options.foundKeys.length === 0
        ? sql<string | null>`null`
        : postgres
          ? sql<
              string | null
            >`(select string_agg(a.system || chr(31) || e.value, chr(30) order by a.system, a.username, e.n)
              from accounts a cross join lateral jsonb_array_elements_text(a.entitlements::jsonb) with ordinality as e(value, n)
              where a.identity_id = i.id and a.enabled = 1 and a.vanished_at is null
              and a.system || chr(31) || e.value = any(${[...options.foundKeys]}::text[]))`
          : sql<string | null>`(select group_concat(a.system || char(31) || j.value, char(30))
              from accounts a, json_each(a.entitlements) j
              where a.identity_id = i.id and a.enabled = 1 and a.vanished_at is null
              and a.system || char(31) || j.value in (select value from json_each(${JSON.stringify(options.foundKeys)})))`;
    type Row = {
      id: string;
      state: string;
      attributes: string;
      moved_at: string | null;
      found: string | null;
    };
    const read = (part: ReturnType<typeof sql<boolean>>) =>
      sql<Row>`select i.id, i.state, ${attributes} as attributes,
        case when i.previous_attributes is null then null else i.attributes_changed_at end as moved_at,
        ${found} as found
      from identities i where ${part}`.execute(db);
    // PostgreSQL works out each identity's entitlements in the server: outside a transaction the pool
    // reads halves at once, one backend (one core) each. SQLite reads in this process either way.
    const parts =
      postgres && !db.isTransaction
        ? await Promise.all(
            // The low bits of a hash split identities evenly (abs() would overflow on the smallest int).
            Array.from({ length: POPULATION_PARTS }, (_, k) =>
              read(sql<boolean>`(hashtext(i.id) & ${POPULATION_PARTS - 1}) = ${k}`),
            ),
          )
        : [await read(sql<boolean>`1 = 1`)];
    const rows = { rows: parts.flatMap((p) => p.rows) };
    return rows.rows.map((r) => ({
      id: r.id,
      state: r.state,
      attributes: r.attributes,
      movedAt: r.moved_at,
      found: r.found,
    }));
  },

  /** The identities with an assignment, and when each ends (null: open-ended); ended ones included. */
  async assignmentEnds(db: Db): Promise<{ identityId: string; validUntil: string | null }[]> {
    const rows = await db.selectFrom("assignments").select(["identity_id", "valid_until"]).execute();
    return rows.map((r) => ({ identityId: r.identity_id, validUntil: r.valid_until }));
  },
};
