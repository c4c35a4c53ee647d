import { UsageError } from "../shared/errors.js";
import { newTraceId } from "../shared/trace-context.js";

/** The characters and length a trace id may have, as for an HTTP X-Request-Id (api/trace-header.ts). */
const TRACE_ID = /^[A-Za-z0-9._:-]{1,64}$/;

/**
 * The trace id of a CLI run that queues operations (`tenure sync`): `TENURE_TRACE_ID` when set — a
 * scheduler's or CI job's own run id, so its logs and Tenure's operations line up — else a new one.
 * @throws UsageError when TENURE_TRACE_ID is set but not 1 to 64 of `A-Z a-z 0-9 . _ : -`.
 */
export function cliRunTraceId(env: NodeJS.ProcessEnv = process.env): string {
  const given = env.TENURE_TRACE_ID;
  if (given === undefined || given === "") return newTraceId();
  if (!TRACE_ID.test(given)) {
    throw new UsageError("TENURE_TRACE_ID must be 1 to 64 of the characters A-Z a-z 0-9 . _ : -");
  }
  return given;
}
