/** `list` in slices of at most `size`: `in (…)` lists kept far below every database's bound-parameter limit. */
export function chunk<T>(list: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < list.length; i += size) out.push(list.slice(i, i + size));
  return out;
}
