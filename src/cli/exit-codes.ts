/**
 * The exit codes of `tenure` (docs/cli.md "Exit codes"): one meaning each, the same in every command.
 */
export const EXIT = {
  ok: 0,
  /** An error: nothing or not everything was done (invalid input, the store, dead operations). */
  error: 1,
  /** The command line itself is wrong. */
  usage: 2,
  /** A run stopped by mass-change protection: nothing was written (see MassChangeError). */
  massChange: 3,
  /**
   * The run finished, but not all of it took effect: operations failed and will be retried, or an
   * identity gets no account where policy wants one (a username that renders empty or is taken).
   */
  incomplete: 4,
} as const;

/** What a finished sync or apply exits with: dead operations are an error, failed ones incomplete. */
export function runExitCode(counts: { dead: number; failed: number; unprovisioned?: number }): number {
  if (counts.dead > 0) return EXIT.error;
  if (counts.failed > 0 || (counts.unprovisioned ?? 0) > 0) return EXIT.incomplete;
  return EXIT.ok;
}
