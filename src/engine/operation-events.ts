import type { OperationRecord } from "../store/operation-repository.js";

/** Operation events are filed under the identity, so its timeline shows its access; orphans under the account. */
export function operationSubject(op: Pick<OperationRecord, "identityId" | "system" | "username">): string {
  return op.identityId ?? `account:${op.system}/${op.username}`;
}

/** What every audit event about an operation says of it: what, on whom, why. */
export function operationDetails(op: OperationRecord): Record<string, unknown> {
  return {
    operationId: op.id,
    system: op.system,
    kind: op.kind,
    username: op.username,
    entitlement: op.entitlement,
    identity: op.identityId,
    reason: op.reason,
    lineage: op.lineage,
    drift: op.drift,
    ...(op.attributes === null ? {} : { attributes: op.attributes }),
    ...(op.enabled === null ? {} : { enabled: op.enabled }),
  };
}
