import { provisionIdentities } from "../engine/identity-provision.js";
import type { TenureConfig } from "../policy/config-types.js";
import type { Store } from "../store/database.js";

/** What provisioning a change did at once: operations queued, applied, or why it did not run now. */
export interface ProvisionedNow {
  queued: number;
  succeeded: number;
  failed: number;
  error: string | null;
}

/** Provisions these identities now; failures are summarised, not thrown (the operations retry). */
export async function provisionNow(
  store: Store,
  config: TenureConfig,
  identityIds: readonly string[],
  options: { now: Date; actor: string },
  run: string,
): Promise<ProvisionedNow> {
  if (Object.keys(config.policy.systems).length === 0)
    return { queued: 0, succeeded: 0, failed: 0, error: null };
  try {
    const result = await provisionIdentities(store, config, identityIds, { ...options, run });
    const s = result.applied.summary;
    return {
      queued: result.queued.queued.length,
      succeeded: s.succeeded,
      failed: s.failed + s.dead,
      error: null,
    };
  } catch (err) {
    return { queued: 0, succeeded: 0, failed: 0, error: (err as Error).message };
  }
}
