import type { Lineage } from "./access-types.js";
import type { LifecycleVerdict } from "./desired-state-types.js";
import type { Identity, IsoDate } from "./identity-types.js";
import type { LifecycleConfig } from "./lifecycle-settings.js";
import { addDays } from "./local-date.js";
import { retentionEnded, retentionOf, retentionStartDay } from "./retention.js";

const NO_WITHHOLDING = { withhold: "none", withholdLineage: null } as const;
const ACTIVE: LifecycleVerdict = Object.freeze({
  state: "active",
  presence: "enabled",
  lineage: null,
  ...NO_WITHHOLDING,
});

/** What the lifecycle state does to every account of `identity` at `nowMs` / `today`. */
export function lifecycleVerdict(
  identity: Identity,
  lifecycle: LifecycleConfig,
  nowMs: number,
  today: IsoDate,
): LifecycleVerdict {
  const state = identity.state;
  const none = NO_WITHHOLDING;
  switch (state) {
    case "active":
      return ACTIVE;
    case "prehire": {
      const start = identity.attributes.startDate;
      if (start === null) {
        const note = "pre-hire without a start date: disabled until it starts";
        return {
          state,
          presence: "disabled",
          lineage: lifecycleLineage("lifecycle.prehireDays", note),
          ...none,
        };
      }
      const opens = addDays(start, -lifecycle.prehireDays);
      const window = `created ${lifecycle.prehireDays} days before the start date ${start}`;
      if (today >= opens) {
        const note = `starts on ${start}: ${window}, disabled until then`;
        return {
          state,
          presence: "disabled",
          lineage: lifecycleLineage("lifecycle.prehireDays", note),
          ...none,
        };
      }
      const note = `starts on ${start}: not yet, accounts are ${window} (on ${opens})`;
      return { state, presence: "absent", lineage: lifecycleLineage("lifecycle.prehireDays", note), ...none };
    }
    case "suspended": {
      const note = `suspended since ${identity.stateSince.slice(0, 10)}: disabled while suspended`;
      return { state, presence: "disabled", lineage: lifecycleLineage("lifecycle.suspended", note), ...none };
    }
    case "terminated": {
      // One rule with the lifecycle's move to deleted: counted from the HR leaving date (retention.ts).
      const retention = retentionOf(identity, lifecycle.deleteAfterDays, today);
      const day = retentionStartDay(retention);
      if (retentionEnded(retention, new Date(nowMs), today)) {
        const note = `terminated on ${day}: deleted after lifecycle.deleteAfterDays (${lifecycle.deleteAfterDays} days)`;
        const lineage = lifecycleLineage("lifecycle.deleteAfterDays", note);
        return { state, presence: "absent", lineage, withhold: "all", withholdLineage: lineage };
      }
      const mode = lifecycle.leaver.revoke;
      return {
        state,
        presence: "disabled",
        lineage: lifecycleLineage("lifecycle.leaver", `terminated on ${day}: disabled by lifecycle.leaver`),
        retainOnly: true,
        withhold: mode,
        withholdLineage: lifecycleLineage(
          "lifecycle.leaver.revoke",
          `terminated on ${day}, lifecycle.leaver.revoke = ${mode}`,
        ),
      };
    }
    case "deleted": {
      const note = `identity deleted on ${identity.stateSince.slice(0, 10)}: no accounts`;
      return { state, presence: "absent", lineage: lifecycleLineage("lifecycle.deleted", note), ...none };
    }
  }
}

function lifecycleLineage(policy: string, note: string): Lineage {
  return { kind: "lifecycle", policy, note };
}
