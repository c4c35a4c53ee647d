import { z } from "zod";
import type { RetryPolicy } from "../shared/backoff.js";
import { strictObject } from "./schema-helpers.js";

const attempts = "expected a whole number of attempts, at least 1";
const seconds = "expected a whole number of seconds (0 or more)";

/**
 * A `retry:` mapping — how many attempts, and the exponential backoff between them — with the given
 * defaults: a system's operations (`systems.<name>.retry`) and notifications (`notify.retry`).
 */
export function retrySchema(defaults: RetryPolicy) {
  return strictObject({
    maxAttempts: z
      .number({ error: attempts })
      .int({ error: attempts })
      .min(1, { error: attempts })
      .default(defaults.maxAttempts),
    baseDelaySeconds: z
      .number({ error: seconds })
      .int({ error: seconds })
      .min(0, { error: seconds })
      .default(defaults.baseDelaySeconds),
    maxDelaySeconds: z
      .number({ error: seconds })
      .int({ error: seconds })
      .min(0, { error: seconds })
      .default(defaults.maxDelaySeconds),
  })
    .refine((retry) => retry.maxDelaySeconds >= retry.baseDelaySeconds, {
      error: "expected at least baseDelaySeconds",
      path: ["maxDelaySeconds"],
    })
    .prefault({});
}
