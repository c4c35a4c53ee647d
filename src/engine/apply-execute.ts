import { type Connector, ConnectorError, type WriteResult } from "../connectors/connector-types.js";
import type { OperationRecord } from "../store/operation-repository.js";
import type { AppliedChange } from "./account-changes.js";
import { observeExecution } from "./engine-metrics.js";

const MAX_ERROR_LENGTH = 2000;

/** A claimed operation whose connector call succeeded (or handed the change to a person). */
export type Succeeded = AppliedChange;

/** A claimed operation after its connector call, before its result is recorded. */
export type Executed =
  | Succeeded
  | { op: OperationRecord; error: string; retryable: boolean; kind?: ConnectorError["kind"] };

/**
 * Runs one claimed operation on its system's connector (`connectorOf` throws when the system has no
 * connector). Never throws: a failure is returned with its redacted message and whether a retry can
 * help. An operation whose earlier claims used every attempt without recording a result (its workers
 * kept dying on it) fails without running again, so one poisonous operation cannot crash workers forever.
 */
export async function execute(
  op: OperationRecord,
  connectorOf: (system: string) => Connector,
): Promise<Executed> {
  if (op.attempts > op.maxAttempts) {
    return {
      op,
      error:
        `${op.system}: abandoned after ${op.maxAttempts} attempt(s) whose worker stopped before recording a ` +
        "result; it may or may not have been applied — check the system, then retry it",
      retryable: false,
    };
  }
  const started = performance.now();
  try {
    const result = await runOnConnector(connectorOf(op.system), op);
    observeExecution(op, (performance.now() - started) / 1000, true, Date.now());
    return { op, result };
  } catch (err) {
    observeExecution(op, (performance.now() - started) / 1000, false, Date.now());
    return {
      op,
      error: describeError(op, err),
      retryable: err instanceof ConnectorError && err.retryable,
      ...(err instanceof ConnectorError ? { kind: err.kind } : {}),
    };
  }
}

/** The connector call an operation stands for. Malformed operations fail without retry. */
async function runOnConnector(connector: Connector, op: OperationRecord): Promise<WriteResult> {
  const ref = { username: op.username, nativeId: op.nativeId };
  const needEntitlement = (): string => {
    if (op.entitlement === null || op.entitlement === "") {
      throw new ConnectorError(op.system, "invalid", `${op.kind} of "${op.username}" names no entitlement`);
    }
    return op.entitlement;
  };
  switch (op.kind) {
    case "create":
      return connector.create({
        username: op.username,
        attributes: op.attributes ?? {},
        enabled: op.enabled ?? true,
      });
    case "update":
      return connector.update(ref, op.attributes ?? {});
    case "enable":
      return connector.enable(ref);
    case "disable":
      return connector.disable(ref);
    case "delete":
      return connector.delete(ref);
    case "grant":
      return connector.grant(ref, needEntitlement());
    case "revoke":
      return connector.revoke(ref, needEntitlement());
    case "rotate":
      if (connector.rotateCredential === undefined) {
        throw new ConnectorError(op.system, "invalid", "this connector cannot rotate credentials");
      }
      return connector.rotateCredential(ref);
  }
}

/** The message stored in `last_error`: the connector's (already redacted) or a redacted generic one. */
export function describeError(op: Pick<OperationRecord, "system">, err: unknown): string {
  const text =
    err instanceof ConnectorError
      ? err.message
      : `${op.system}: unexpected ${err instanceof Error ? err.name : "error"}: ${err instanceof Error ? err.message : String(err)}`;
  // A second line of defence: connection URLs never leave with their password.
  const redacted = text.replace(/(\/\/[^:/@\s]*):[^@\s]*@/g, "$1:***@");
  return redacted.length > MAX_ERROR_LENGTH ? `${redacted.slice(0, MAX_ERROR_LENGTH - 1)}…` : redacted;
}
