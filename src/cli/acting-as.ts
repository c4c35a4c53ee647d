import type { Identity } from "../domain/identity-types.js";
import { NotFoundError, UsageError } from "../shared/errors.js";
import type { Store } from "../store/database.js";
import { identityRepository } from "../store/identity-repository.js";
import { cliActor } from "./context.js";

/** The identity `--as` names (id, HR key or email). */
export async function actingAs(store: Store, ref: string | undefined, what: string): Promise<Identity> {
  if (ref === undefined)
    throw new UsageError(`${what} needs --as PERSON: who is acting (id, HR key or email)`);
  const identity = await identityRepository.resolve(store.db, ref);
  if (identity === undefined)
    throw new NotFoundError(`--as ${ref}: no identity has this id, HR key or email`);
  return identity;
}

/** Recorded in the ledger: the operator and the person they act as. */
export function actorFor(identity: Identity | null): string {
  return identity === null ? cliActor() : `${cliActor()} as ${identity.sourceKey}`;
}
