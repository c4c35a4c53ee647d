import type { WorkerRecord } from "../domain/identity-types.js";

export const FINDING_CODES = [
  "duplicate_key",
  "missing_required",
  "malformed_email",
  "unknown_manager",
  "manager_cycle",
  "invalid_date",
  "invalid_value",
  "end_before_start",
  "terminated_without_date",
  "duplicate_email",
  "key_changed",
  "control_character",
  "too_long",
] as const;
export type FindingCode = (typeof FINDING_CODES)[number];

/**
 * One data-quality finding. `error` findings skip the row (never guessed); `warning` findings keep it.
 * `row` is the 1-based data row (the header is row 0), `line` the physical line in the file when known.
 */
export interface Finding {
  source: string;
  row: number;
  line?: number;
  key: string | null;
  code: FindingCode;
  severity: "error" | "warning";
  field?: string;
  message: string;
  /**
   * For `key_changed`: the key the matched, already-stored identity has, so sync can rekey it
   * (fallback `email`) or a person can see which identity the row collides with.
   */
  previousKey?: string;
}

/** What an authoritative source hands to sync: valid records and everything it found wrong. */
export interface SourceReadResult {
  source: string;
  records: WorkerRecord[];
  findings: Finding[];
  rowsRead: number;
  /** True when the read covers every person (a full export), so absence means something. */
  complete: boolean;
  /**
   * The key of every row read, valid or refused (normalised, as in the records), plus the stored key a
   * refused row was matched to by `key_changed`. Only a key outside it can count as missing: a person
   * whose row is present but refused keeps their state (see planSync). Absent: the records' keys only
   * (right for a source that refuses no row).
   */
  presentKeys?: readonly string[];
}

/** Identity facts a source needs to detect a key that changed for the same person. */
export interface KnownPerson {
  sourceKey: string;
  email: string | null;
  givenName: string;
  familyName: string;
}
