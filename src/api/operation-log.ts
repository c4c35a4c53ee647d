import type { FastifyBaseLogger } from "fastify";
import type { OperationOutcome } from "../engine/apply-record.js";
import { operationRepository } from "../store/operation-repository.js";
import type { Db } from "../store/schema-types.js";

/**
 * One log line per operation the server's apply loop finished, with the trace id of what queued it
 * (`traceId`: the push's request id, a CLI run, a scheduled run), so a push can be followed in the logs
 * from its request to the changes it caused in each system. A failure is a warning; its error is
 * already free of secrets.
 */
export async function logOperationOutcomes(
  log: FastifyBaseLogger,
  db: Db,
  outcomes: readonly OperationOutcome[],
): Promise<void> {
  if (outcomes.length === 0) return;
  const traces = await operationRepository.traceIds(
    db,
    outcomes.map((o) => o.id),
  );
  for (const o of outcomes) {
    const line = {
      operation: o.id,
      system: o.system,
      kind: o.kind,
      username: o.username,
      outcome: o.outcome,
      attempts: o.attempts,
      traceId: traces.get(o.id) ?? null,
      ...(o.error !== undefined ? { error: o.error } : {}),
    };
    if (o.outcome === "failed" || o.outcome === "dead") log.warn(line, `operation ${o.outcome}`);
    else log.info(line, `operation ${o.outcome}`);
  }
}
