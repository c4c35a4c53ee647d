import type { Identity } from "../domain/identity-types.js";
import type { TenureConfig } from "../policy/config-types.js";
import type { Store } from "../store/store-types.js";
import { type NhiHeldView, withAccountHolds } from "./nhi-hold-view.js";
import { listNhiViews } from "./nhi-view.js";

/**
 * The NHIs a person answers for (docs/nhi.md "Who sees what"): those they own, co-own, or must confirm as
 * the pending owner — what an owner sees without `nhi:read` (the console's NHI page for a requester, from
 * which they confirm ownership), the way a reviewer sees only their own review items. Live NHIs only; a
 * removed one is nobody's to act on.
 */
export async function listOwnedNhiViews(
  store: Store,
  config: Pick<TenureConfig, "nhi">,
  now: Date,
  person: Pick<Identity, "id" | "sourceKey">,
): Promise<NhiHeldView[]> {
  const mine = (await listNhiViews(store, config, now)).filter(
    (v) => v.ownerId === person.id || v.pendingOwnerId === person.id || v.coOwners.includes(person.sourceKey),
  );
  return withAccountHolds(store, mine);
}
