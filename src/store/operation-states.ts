export const OPERATION_STATES = ["pending", "running", "awaiting", "succeeded", "failed", "dead"] as const;
export type OperationState = (typeof OPERATION_STATES)[number];

/**
 * The states the partial unique index on idempotency_key covers: work that may still happen. `awaiting`
 * (handed to a person as a task, not done yet) is open but never claimable.
 */
export const OPEN_STATES = [
  "pending",
  "running",
  "failed",
  "awaiting",
] as const satisfies readonly OperationState[];
