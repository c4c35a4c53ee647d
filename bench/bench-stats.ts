/**
 * Summary statistics the benches share, so each reports percentiles the same way.
 */

/** The `p`-th percentile (nearest rank) of `sorted`, which is in ascending order. */
export function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** The median of `xs` (the upper one of an even count), in any order. */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}
