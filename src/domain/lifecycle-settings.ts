/**
 * The lifecycle settings the pure decisions read (`lifecycle:` in tenure.yaml, validated by
 * policy/sections/lifecycle-section.ts). Declared here, not in policy/, so the domain imports nothing above it.
 */
export interface LifecycleConfig {
  /** Days before the start date on which a joiner's accounts are created (disabled). Default 7. */
  readonly prehireDays: number;
  /** Days a mover keeps old access after a change. 0 = removed at once (default). */
  readonly moverGraceDays: number;
  /** Days after termination after which accounts are deleted. Default 30. */
  readonly deleteAfterDays: number;
  /** Days before a contractor's end date on which the manager is warned. Default 14. */
  readonly contractorWarningDays: number;
  /** What a leaver loses at once besides the account being disabled. Default `privileged`. */
  readonly leaver: {
    readonly revoke: "privileged" | "all";
    /** Hours within which a leaver should have lost every account: what the leavers report measures. Default 24. */
    readonly slaHours?: number;
  };
  /** A run that disables or deletes more than this, per system, stops. Default 10 % and at least 5. */
  readonly massChangeThreshold: { readonly percent: number; readonly minimum: number };
}
