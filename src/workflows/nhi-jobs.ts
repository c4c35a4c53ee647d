import type { JobDeps } from "../engine/scheduled-jobs.js";
import type { ScheduledJob } from "../engine/scheduler.js";
import { syncNhiInventory } from "./nhi-inventory.js";
import { rotateDueNhis } from "./nhi-rotate.js";
import { nhiOwnerSuccession } from "./nhi-succession.js";

/**
 * The scheduled job of non-human identities (only when tenure.yaml has `nhi:`): `nhi`, at `nhi.schedule`
 * (default hourly) — inventory sync (declared, removed and discovered NHIs), then owner succession
 * (passing ownership on, deadlines, disabling) and expiry warnings.
 */
export function nhiJobs(deps: JobDeps): ScheduledJob[] {
  const { store, config, actor } = deps;
  const nhi = config.nhi;
  if (nhi === undefined) return [];
  const rotation = nhi.rotation;
  const rotate: ScheduledJob[] =
    rotation === undefined || rotation.schedule === "off"
      ? []
      : [
          {
            name: "nhi-rotation",
            pattern: rotation.schedule,
            description:
              "rotate the credential of every NHI past nhi.policy.maxCredentialAge (deliver, set, verify, retire)",
            async run({ now }) {
              const done = await rotateDueNhis(store, config, { now, actor });
              return {
                rotated: done.rotated.length,
                failed: done.failed.length,
                skipped: done.skipped.length,
              };
            },
          },
        ];
  return [
    ...rotate,
    {
      name: "nhi",
      pattern: nhi.schedule,
      description: "non-human identities: inventory sync and discovery, owner succession, expiry warnings",
      async run({ now }) {
        const sync = await syncNhiInventory(store, config, { now, actor });
        const succession = await nhiOwnerSuccession(store, config, { now, actor });
        return {
          created: sync.created.length,
          updated: sync.updated.length,
          removed: sync.removed.length,
          discovered: sync.discovered.length,
          ownerPending: succession.pending.length,
          disabled: succession.disabled.length,
          ownerless: succession.ownerless.length,
          expiryWarnings: succession.warned.length,
          // Disables held by mass-change protection (recorded and alerted as mass-change.stopped).
          disablesHeld: succession.massChangeStopped?.counts["system:nhi"]?.disable ?? 0,
          // Removal disables held the same way (an emptied or truncated inventory).
          removalsHeld: sync.massChangeStopped?.counts["system:nhi"]?.disable ?? 0,
        };
      },
    },
  ];
}
