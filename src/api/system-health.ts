import type { Connector } from "../connectors/connector-types.js";

/** Whether a system answered the health check, how fast, and if not, why (connector messages are redacted). */
export interface SystemHealth {
  status: "ok" | "unreachable";
  message: string | null;
  checkedInMs: number;
}

/**
 * Whether the system answers: one cheap read (its entitlements) bounded by `timeoutMs`. A connector
 * that cannot even be built (bad config) counts as unreachable, with why.
 */
export async function checkHealth(open: () => Connector, timeoutMs: number): Promise<SystemHealth> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    });
    await Promise.race([Promise.resolve().then(() => open().listEntitlements()), timeout]);
    return { status: "ok", message: null, checkedInMs: Math.round(performance.now() - started) };
  } catch (err) {
    return {
      status: "unreachable",
      message: err instanceof Error ? err.message : String(err),
      checkedInMs: Math.round(performance.now() - started),
    };
  } finally {
    clearTimeout(timer);
  }
}
