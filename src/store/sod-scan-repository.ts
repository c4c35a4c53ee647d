import { CompiledQuery, sql } from "kysely";
import type { AccessExclusion, Assignment } from "../domain/access-types.js";
import type { Identity } from "../domain/identity-types.js";
import { accountRepository } from "./account-repository.js";
import { fromRow as assignmentFromRow, assignmentRepository } from "./assignment-repository.js";
import { usesDollar } from "./bulk-insert.js";
import { chunk } from "./chunk.js";
import { type HeldEntitlements, holdingsOfRow } from "./held-account.js";
import {
  IDENTITY_READ_COLUMNS,
  fromRow as identityFromRow,
  identityRepository,
} from "./identity-repository.js";
import { withLocalSettings } from "./local-settings.js";
import { reviewExclusionRepository } from "./review-exclusion-repository.js";
import type {
  AccountsTable,
  AssignmentsTable,
  Db,
  IdentitiesTable,
  ReviewExclusionsTable,
  SodExceptionsTable,
  SodViolationsTable,
} from "./schema-types.js";
import {
  exceptionFromRow,
  type SodException,
  sodExceptionRepository,
  sodViolationRepository,
  type ViolationRecord,
  violationFromRow,
} from "./sod-repository.js";

/**
 * What separation-of-duties scans read before they evaluate anyone: everyone narrowly (a full scan),
 * or the rows of the identities asked for (an incremental scan, a request's check).
 */

/** PostgreSQL reads a scan's population in this many parts at once (a power of two: the hash's low bits). */
const POPULATION_PARTS = 2;
/** Identities read by one statement of {@link sodScanRepository.identityRows} on PostgreSQL. */
const IDENTITY_CHUNK = 500;

/**
 * The rows of the identities `$1` (text[]) a scan reads, each table's as a JSON array (null: none):
 * enabled, present accounts in the systems `$2` (text[]), exceptions in force at `$3`.
 */
const IDENTITY_ROWS_SQL = `select
  (select json_agg(t) from (
    select ${IDENTITY_READ_COLUMNS.join(", ")} from identities where id = any($1::text[])) t) as identities,
  (select json_agg(t) from (
    select identity_id, system, username, entitlements, managed_entitlements from accounts
    where identity_id = any($1::text[]) and enabled = 1 and vanished_at is null
    and system = any($2::text[])) t) as accounts,
  (select json_agg(t) from (select * from assignments where identity_id = any($1::text[])) t) as assignments,
  (select json_agg(t) from (
    select * from sod_exceptions where identity_id = any($1::text[])
    and revoked_at is null and approved_at <= $3 and expires_at > $3) t) as exceptions,
  (select json_agg(t order by t.created_at, t.id) from (
    select x.identity_id, x.employment, x.role, x.system, x.entitlement, x.item_id, x.campaign_id,
      x.created_at, x.id, c.definition as campaign_name
    from review_exclusions x left join review_campaigns c on c.id = x.campaign_id
    where x.identity_id = any($1::text[]) and x.lifted_at is null) t) as exclusions,
  (select json_agg(t order by t.opened_at, t.id) from (
    select * from sod_violations where identity_id = any($1::text[]) and closed_at is null) t) as open`;

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

/** The reads a scan makes before it evaluates anyone. */
export const sodScanRepository = {
  /**
   * Every identity, with the values of `attributes` (all of them when null) and, of the entitlements on
   * its enabled, present accounts, only those in `foundKeys` (`system␟key`), filtered and joined in SQL:
   * a scan of 100,000 people reads one short row each instead of every account's entitlements. (Grouping
   * alike identities in SQL spared this process 0.4 s of parsing but cost PostgreSQL more than that, on
   * the critical path: 2.1 s against 1.6 s, measured.) PostgreSQL reads the attributes as it keeps them
   * parsed (a generated jsonb column, migration 2026-12-05T19-00): parsing their text was a third of its
   * work here.
   */
  async population(
    db: Db,
    options: { attributes: readonly string[] | null; foundKeys: readonly string[] },
  ): Promise<ScanPopulationRow[]> {
    const postgres = usesDollar(db);
    const reads = options.attributes;
    const attributes = (() => {
      if (reads === null) return sql<string>`i.attributes`;
      if (reads.length === 0) return sql<string>`'[]'`;
      // PostgreSQL keeps the attributes parsed (attributes_jsonb, generated): each is a lookup, no parse.
      if (postgres)
        return sql<string>`jsonb_build_array(${sql.join(reads.map((a) => sql`i.attributes_jsonb -> ${a}`))})::text`;
      // With one path json_extract returns the value itself, with two or more a JSON array.
      const values = reads.map((a) => sql`json_extract(i.attributes, ${`$."${a}"`})`);
      return sql<string>`json_array(${sql.join(values)})`;
    })();
    const found =
      options.foundKeys.length === 0
        ? sql<string | null>`null`
        : postgres
          ? // Not ordered (nor is SQLite's): the order only keys a memo, and a sort per identity cost a
            // third of the read. The index on (identity_id, system) gives the accounts in system order.
            sql<string | null>`(select string_agg(a.system || chr(31) || e.value, chr(30))
              from accounts a cross join lateral jsonb_array_elements_text(a.entitlements_jsonb) as e(value)
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
    const read = (on: Db, part: ReturnType<typeof sql<boolean>>) =>
      sql<Row>`select i.id, i.state, ${attributes} as attributes,
        case when i.previous_attributes is null then null else i.attributes_changed_at end as moved_at,
        ${found} as found
      from identities i where ${part}`.execute(on);
    // PostgreSQL works out each identity's entitlements in the server: outside a transaction the pool
    // reads halves at once, one backend (one core) each. SQLite reads in this process either way.
    const parts =
      postgres && !db.isTransaction
        ? await Promise.all(
            // The low bits of a hash split identities evenly (abs() would overflow on the smallest int).
            Array.from({ length: POPULATION_PARTS }, (_, k) =>
              // A read of every identity costs enough for the planner to compile it (JIT), which takes
              // longer than it saves on a query that spends its time in JSON functions.
              withLocalSettings(db, { jit: "off" }, (trx) =>
                read(trx, sql<boolean>`(hashtext(i.id) & ${POPULATION_PARTS - 1}) = ${k}`),
              ),
            ),
          )
        : [await read(db, sql<boolean>`1 = 1`)];
    return parts.flatMap((p) =>
      p.rows.map((r) => ({
        id: r.id,
        state: r.state,
        attributes: r.attributes,
        movedAt: r.moved_at,
        found: r.found,
      })),
    );
  },

  /** The identities with an assignment, and when each ends (null: open-ended); ended ones included. */
  async assignmentEnds(db: Db): Promise<{ identityId: string; validUntil: string | null }[]> {
    const rows = await db.selectFrom("assignments").select(["identity_id", "valid_until"]).execute();
    return rows.map((r) => ({ identityId: r.identity_id, validUntil: r.valid_until }));
  },

  /**
   * What a scan of `identityIds` reads of them: the identities, their enabled accounts in `systems`,
   * their assignments, exceptions in force at `now`, review exclusions not lifted and open violations.
   * On PostgreSQL one statement per 500 identities, each table's rows aggregated as JSON: a scan of one
   * person after a change is one round trip and one snapshot, where it was five statements over three
   * round trips. SQLite, in this process, reads one table after another.
   */
  async identityRows(
    db: Db,
    identityIds: readonly string[],
    options: { now: string; systems: readonly string[] },
  ): Promise<IdentityScanRows> {
    const out: IdentityScanRows = {
      identities: [],
      accounts: [],
      assignments: [],
      exceptions: [],
      exclusions: [],
      open: [],
    };
    const ids = [...new Set(identityIds)];
    if (ids.length === 0) return out;
    if (!usesDollar(db)) {
      out.identities = [...(await identityRepository.findByIds(db, ids)).values()];
      for (const part of chunk(ids, IDENTITY_CHUNK)) {
        out.accounts.push(
          ...(await accountRepository.heldEntitlements(db, { systems: options.systems, identityIds: part })),
        );
        out.assignments.push(...(await assignmentRepository.list(db, { identityIds: part })));
      }
      out.exceptions = await sodExceptionRepository.inForce(db, options.now, ids);
      out.exclusions = await reviewExclusionRepository.active(db, ids);
      out.open = await sodViolationRepository.open(db, { identityIds: ids });
      return out;
    }
    for (const part of chunk(ids, IDENTITY_CHUNK)) {
      // Precompiled: an incremental scan of one person runs it after every change.
      const { rows } = await db.executeQuery<IdentityRowsRow>(
        CompiledQuery.raw(IDENTITY_ROWS_SQL, [part, [...options.systems], options.now]),
      );
      const row = rows[0]!;
      for (const r of row.identities ?? []) out.identities.push(identityFromRow(r));
      for (const r of row.accounts ?? []) out.accounts.push(holdingsOfRow(r));
      for (const r of row.assignments ?? []) out.assignments.push(assignmentFromRow(r));
      for (const r of row.exceptions ?? []) out.exceptions.push(exceptionFromRow(r));
      for (const r of row.exclusions ?? []) out.exclusions.push(exclusionFromRow(r));
      for (const r of row.open ?? []) out.open.push(violationFromRow(r));
    }
    return out;
  },
};

/** What a scan of some identities reads of them (see {@link sodScanRepository.identityRows}). */
export interface IdentityScanRows {
  /** Those of the identities asked for that exist, in no particular order. */
  identities: Identity[];
  /** Their enabled, present accounts in the systems asked for. */
  accounts: HeldEntitlements[];
  /** Their assignments, ended ones included. */
  assignments: Assignment[];
  /** Their exceptions in force at the time asked for. */
  exceptions: SodException[];
  /** Their review exclusions not lifted, oldest first. */
  exclusions: AccessExclusion[];
  /** Their open violations, in order of opening. */
  open: ViolationRecord[];
}

type ExclusionRow = Pick<
  ReviewExclusionsTable,
  "identity_id" | "employment" | "role" | "system" | "entitlement" | "item_id" | "campaign_id"
> & { campaign_name: string | null };
type AccountRow = Pick<
  AccountsTable,
  "identity_id" | "system" | "username" | "entitlements" | "managed_entitlements"
>;
type IdentityRowsRow = {
  identities: Pick<IdentitiesTable, (typeof IDENTITY_READ_COLUMNS)[number]>[] | null;
  accounts: AccountRow[] | null;
  assignments: AssignmentsTable[] | null;
  exceptions: SodExceptionsTable[] | null;
  exclusions: ExclusionRow[] | null;
  open: SodViolationsTable[] | null;
};

/** As `reviewExclusionRepository.active` reads an exclusion row, the fields rules see. */
function exclusionFromRow(r: ExclusionRow): AccessExclusion {
  return {
    identityId: r.identity_id,
    employment: Number(r.employment),
    target: r.role !== null ? { role: r.role } : { system: r.system ?? "", entitlement: r.entitlement ?? "" },
    itemId: r.item_id,
    campaignId: r.campaign_id,
    ...(r.campaign_name ? { campaign: r.campaign_name } : {}),
  };
}
