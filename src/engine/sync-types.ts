import type { Identity } from "../domain/identity-types.js";
import type { Finding } from "../sources/source-types.js";

export interface SyncOptions {
  now: Date;
  dryRun?: boolean;
  /** Who runs the sync, recorded in the audit (e.g. `cli:alice`). */
  actor: string;
  /**
   * The plan hash of a run stopped by mass-change protection, confirmed by an admin: the run goes ahead
   * only if the plan computed now has this hash (else PlanChangedError, nothing written); the audit
   * records who confirmed.
   */
  confirmMassChange?: string | undefined;
  onProgress?: (progress: { source: string; phase: "read" | "write"; done: number; total?: number }) => void;
}

export interface SourceSyncResult {
  source: string;
  dryRun: boolean;
  rowsRead: number;
  recordsValid: number;
  rowsSkipped: number;
  findings: Finding[];
  created: number;
  updated: number;
  rehired: number;
  terminated: number;
  transitions: Record<string, number>;
  unchanged: number;
  auditEvents: number;
  /** The identities as this run leaves them (only those that change), so a dry run can plan on them. */
  identities: Identity[];
  /** The identities that change, by id, with their state after the run (for dry runs and reports). */
  changes: Array<{
    id: string;
    key: string;
    name: string;
    from: string | null;
    to: string;
    actions: string[];
  }>;
}
