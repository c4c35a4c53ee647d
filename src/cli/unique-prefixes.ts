/**
 * The shortest start of each id, at least `min` characters, that no other of `ids` shares — as git
 * shortens commit hashes. Operation ids are UUIDv7, whose first characters are a timestamp, so ids
 * made together share a long start: a fixed eight characters would be ambiguous.
 */
export function uniquePrefixes(ids: readonly string[], min = 8): Map<string, string> {
  const sorted = [...new Set(ids)].sort();
  const out = new Map<string, string>();
  const common = (a: string | undefined, b: string) => {
    if (a === undefined) return 0;
    let n = 0;
    while (n < a.length && n < b.length && a[n] === b[n]) n++;
    return n;
  };
  for (let i = 0; i < sorted.length; i++) {
    const id = sorted[i]!;
    // In sorted order an id shares its longest start with a neighbour.
    const shared = Math.max(common(sorted[i - 1], id), common(sorted[i + 1], id));
    out.set(id, id.slice(0, Math.max(min, shared + 1)));
  }
  return out;
}
