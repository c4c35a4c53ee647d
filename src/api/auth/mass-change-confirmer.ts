import { ForbiddenError } from "./auth-errors.js";
import { roleAllows, rolesWith } from "./platform-roles.js";
import type { Principal } from "./token-service.js";

/**
 * Only a person with the admin role confirms a mass change: a request carrying `confirmMassChange`
 * from any other token (an `hr-source` push above all) is refused with 403 before anything is read or
 * written. Routes call it before they run.
 * @throws ForbiddenError (403).
 */
export function requireConfirmer(principal: Principal | null): void {
  if (principal !== null && roleAllows(principal.role, "mass-change:confirm")) return;
  throw new ForbiddenError(
    `confirmMassChange: the token's role ${principal?.role ?? "(none)"} may not confirm a mass change ` +
      `(held by: ${rolesWith("mass-change:confirm").join(", ")}); nothing was changed`,
  );
}
