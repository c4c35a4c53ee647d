import { sql } from "kysely";
import type { Assignment } from "../domain/access-types.js";
import type { Identity } from "../domain/identity-types.js";
import { type HeldEntitlements, StoredHoldings } from "./held-account.js";
import { IDENTITY_READ_COLUMNS } from "./identity-repository.js";
import type { IdentitiesTable } from "./schema-types.js";

/**
 * What a review campaign reads of each identity, one row per identity (store/review-population-
 * repository.ts): the identity itself, its assignments of the current employment and what its enabled,
 * present accounts hold, aggregated per identity in SQL. Reading 1,000,000 assignments as row objects,
 * then as `Assignment`s, was most of a campaign's load (docs/performance.md, "Access reviews"); one text
 * per identity is a tenth of the objects.
 */

/** One identity with everything desired state and the review's candidates read of it. */
export interface ReviewPopulationRow {
  identity: Identity;
  /** Its assignments of the current employment (other employments never count), in stored order. */
  assignments: Assignment[];
  /** Its enabled, present accounts, in stored order, with their last use. */
  accounts: Array<HeldEntitlements & { lastUsedAt: string | null }>;
}

/** An identity's columns as a page query reads them. */
export type IdentityColumns = Pick<IdentitiesTable, (typeof IDENTITY_READ_COLUMNS)[number]>;

/** The identity's columns of a page query, as `i.column` in IDENTITY_READ_COLUMNS' order. */
export const IDENTITY_SELECT = sql.join(IDENTITY_READ_COLUMNS.map((c) => sql.ref(`i.${c}`)));

/** Whether an identity is still here (a campaign looks at nobody terminated or deleted). */
export const STILL_HERE = sql`i.state not in ('terminated', 'deleted')`;

type AssignmentTuple = [
  string,
  string | null,
  string | null,
  string | null,
  string,
  string | null,
  string,
  string | null,
  string | null,
  string | null,
  string | null,
];

/**
 * The assignments of `text`, a JSON array of [id, role, system, entitlement, valid_from, valid_until,
 * reason, approved_by, revoked_at, request_id, ended_at], all of the identity's employment `employment`.
 */
export function assignmentsJson(text: string | null, identityId: string, employment: number): Assignment[] {
  const assignments: Assignment[] = [];
  if (text === null) return assignments;
  for (const a of JSON.parse(text) as AssignmentTuple[]) {
    assignments.push({
      id: a[0],
      identityId,
      target: a[1] !== null ? { role: a[1] } : { system: a[2] ?? "", entitlement: a[3] ?? "" },
      employment,
      validFrom: a[4],
      validUntil: a[5],
      reason: a[6],
      approvedBy: a[7],
      revokedAt: a[8],
      requestId: a[9] ?? null,
      endedAt: a[10] ?? null,
    });
  }
  return assignments;
}

type AccountTuple = [string, string, string[], string, string | null];

/** The accounts of `text`, a page's JSON array of [system, username, entitlements, managed, last use]. */
export function holdingsOf(text: string | null, identityId: string): ReviewPopulationRow["accounts"] {
  const accounts: ReviewPopulationRow["accounts"] = [];
  if (text === null) return accounts;
  for (const c of JSON.parse(text) as AccountTuple[]) {
    accounts.push(
      new StoredHoldings({
        identityId,
        system: c[0],
        username: c[1],
        entitlements: c[2],
        managedText: c[3],
        lastUsedAt: c[4],
      }),
    );
  }
  return accounts;
}
