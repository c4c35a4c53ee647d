import type { FastifyRequest } from "fastify";
import type { Identity } from "../../domain/identity-types.js";
import { TenureError } from "../../shared/errors.js";
import { identityRepository } from "../../store/identity-repository.js";
import type { RouteDeps } from "../route-types.js";

/** Who the ledger records for a request: the token's or session's actor (`token:NAME`, `session:…`). */
export function actorOf(request: FastifyRequest): string {
  return request.principal?.actor ?? "api";
}

/**
 * The person the caller is, for person-level acts (asking, deciding, accepting a violation): a token
 * or session acting for nobody cannot do them. `acts` says what, for the refusal.
 */
export async function actingPerson(
  deps: RouteDeps,
  request: FastifyRequest,
  acts: string,
): Promise<Identity> {
  const id = request.principal?.identityId ?? null;
  const identity = id === null ? undefined : await identityRepository.findById(deps.store.db, id);
  if (identity === undefined) {
    throw new TenureError(
      "no_identity",
      `this token or session acts for nobody: ${acts} (tenure token create --identity, or sign in to the console); nothing was changed`,
      { httpStatus: 422 },
    );
  }
  return identity;
}
