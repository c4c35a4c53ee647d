/**
 * The only place that reads the wall clock. Everything below the CLI/API takes `now` as a parameter.
 * TENURE_NOW pins the process clock for demos, replays and tests.
 */
export function resolveNow(env: NodeJS.ProcessEnv = process.env, onPinned?: (iso: string) => void): Date {
  const pinned = env.TENURE_NOW;
  if (pinned === undefined || pinned === "") return new Date();
  const at = new Date(pinned);
  if (Number.isNaN(at.getTime())) {
    throw new Error(`TENURE_NOW is not an ISO-8601 date-time: "${pinned}"`);
  }
  onPinned?.(at.toISOString());
  return at;
}
