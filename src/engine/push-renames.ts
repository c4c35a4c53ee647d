import type { Identity } from "../domain/identity-types.js";
import type { RenamedKey } from "../domain/sync-plan.js";
import { TenureError } from "../shared/errors.js";
import type { CandidateRow } from "../sources/record-mapping.js";

/*
 * Key changes a pushing system declares (ingestRecords' `previousKeys`): a SCIM User keeps its id when
 * its externalId changes, so the identity under the old key is the person, not a newcomer.
 */

/** The declared key changes by new key: records whose key is known and differs from the one given before. */
export function declaredRenames(
  candidates: readonly CandidateRow[],
  previousKeys: readonly (RenamedKey | null | undefined)[] | undefined,
): Map<string, RenamedKey> {
  const renamed = new Map<string, RenamedKey>();
  if (previousKeys === undefined) return renamed;
  for (const c of candidates) {
    const previous = previousKeys[c.row - 1];
    if (c.key !== null && previous && previous.previousKey !== c.key) renamed.set(c.key, previous);
  }
  return renamed;
}

/**
 * The identities a declared key change moves (identity id → new key). A new key another identity
 * already holds is refused: re-keying onto it would leave two identities for one person, and taking
 * that identity over would leave the renamed one active.
 * @throws TenureError `key_taken` (409) — nothing was changed.
 */
export function checkRenames(
  source: string,
  renamedKeys: ReadonlyMap<string, RenamedKey>,
  stored: readonly Identity[],
): Map<string, string> {
  const byKey = new Map(stored.map((i) => [i.sourceKey, i]));
  const moved = new Map<string, string>();
  for (const [key, { previousKey }] of renamedKeys) {
    const renamed = byKey.get(previousKey);
    const holder = byKey.get(key);
    if (renamed === undefined || renamed.id === holder?.id) continue;
    if (holder !== undefined) {
      throw new TenureError(
        "key_taken",
        `source ${source}: the person with key "${previousKey}" (identity ${renamed.id}) cannot take the key "${key}": ` +
          `it is the key of another identity (${holder.id}, ${holder.state}); nothing was changed`,
        { httpStatus: 409 },
      );
    }
    moved.set(renamed.id, key);
  }
  return moved;
}
