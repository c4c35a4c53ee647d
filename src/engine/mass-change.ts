import { createHash } from "node:crypto";
import { canonicalJson } from "../audit/canonical-json.js";
import { appendEvents } from "../audit/ledger.js";
import type { PlannedOperation } from "../domain/access-types.js";
import type { SyncPlan } from "../domain/sync-plan.js";
import { enqueueNotifications } from "../notify/notification-enqueue.js";
import type { MassChangeCountData } from "../notify/notification-events.js";
import type { LifecycleConfig, TenureConfig } from "../policy/config-types.js";
import { MassChangeError, PlanChangedError } from "../shared/errors.js";
import type { Store } from "../store/database.js";

/**
 * Whether `count` removals out of a population of `population` exceed the threshold:
 * both more than the minimum count and more than the percentage. A small organisation's
 * two leavers never trip it; a truncated HR file does.
 */
export function exceedsMassChangeThreshold(
  count: number,
  population: number,
  threshold: LifecycleConfig["massChangeThreshold"],
): boolean {
  if (count <= threshold.minimum) return false;
  return count > (population * threshold.percent) / 100;
}

/** How a plan hash is written: 64 lowercase hex digits. */
export const PLAN_HASH_PATTERN = /^[0-9a-f]{64}$/;

/** One source or system past the threshold: `source` counts people terminated (as `disable`), `system` accounts. */
export type MassChangeLevel = MassChangeCountData;

/** What a run would write, for its plan hash: each source's identity changes and the operations it queues. */
export interface PlanHashInput {
  sources: ReadonlyArray<{ source: string; plan: SyncPlan }>;
  operations: ReadonlyArray<Pick<PlannedOperation, "idempotencyKey">>;
}

/**
 * The plan hash: hex SHA-256 over the canonical JSON (RFC 8785) of what the run would write — every
 * identity change (source, key, state and attributes before and after, the lifecycle actions) and the
 * idempotency keys of the operations. Nothing random or clock-bound goes in (no new ids, no timestamps),
 * so planning the same data twice gives the same hash, and any difference in what would be written
 * gives another. Pure.
 */
export function planHashOf(input: PlanHashInput): string {
  const changes = input.sources
    .flatMap(({ source, plan }) =>
      plan.changes.map((c) => ({
        source,
        key: c.identity.sourceKey,
        cause: c.cause,
        before:
          c.before === undefined
            ? null
            : {
                key: c.before.sourceKey,
                state: c.before.state,
                employment: c.before.employment,
                attributes: c.before.attributes,
              },
        after: {
          state: c.identity.state,
          employment: c.identity.employment,
          attributes: c.identity.attributes,
        },
        actions: c.events.map((e) => e.action),
      })),
    )
    .sort((a, b) => compare(`${a.source}\u0000${a.key}`, `${b.source}\u0000${b.key}`));
  const operations = [...new Set(input.operations.map((o) => o.idempotencyKey))].sort(compare);
  return createHash("sha256")
    .update(canonicalJson({ version: 1, changes, operations }))
    .digest("hex");
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A planned run at the mass-change gate: what {@link guardMassChange} decides on. */
export interface MassChangeGate {
  /** The run in words, for the audit and the notification: `sync`, `push to source hr`, `provisioning`. */
  run: string;
  actor: string;
  now: Date;
  planHash: string;
  /** Every source and system past the threshold (empty: the run goes ahead). */
  exceeded: readonly MassChangeLevel[];
  /** The plan hash the caller confirmed (`--confirm-mass-change HASH`), if any. */
  confirm?: string | undefined;
  /** How to confirm a plan, for the messages: `(h) => \`tenure sync --confirm-mass-change ${h}\``. */
  confirmWith: (planHash: string) => string;
  /**
   * false: a stop is thrown without being recorded — for a run its caller splits and runs again part by
   * part when it is stopped (SCIM writes grouped into one push), each part recording its own stop.
   */
  recordStop?: boolean;
}

/**
 * Mass-change protection for one planned run, before it writes anything:
 * - a confirmation whose hash is not `gate.planHash` → PlanChangedError (409, exit 1), nothing written;
 * - something past the threshold and no confirmation → the stop is recorded — ONE `mass-change.stopped`
 *   audit event (subject `plan:HASH`, the counts and the hash in its details) and its notification, in a
 *   transaction of their own — and MassChangeError (409, exit 3) is thrown;
 * - otherwise the run may go ahead; returns true when it goes ahead past the threshold by confirmation
 *   (its write then audits who confirmed).
 */
export async function guardMassChange(
  store: Pick<Store, "db">,
  config: Pick<TenureConfig, "notify" | "lifecycle">,
  gate: MassChangeGate,
): Promise<boolean> {
  if (gate.confirm !== undefined && gate.confirm !== gate.planHash) {
    throw new PlanChangedError(
      `${gate.run}: the plan changed since it was shown: confirmed ${gate.confirm}, but the plan computed now ` +
        `is ${gate.planHash}; nothing was changed. Look at what the run would do now and, if it is intended, ` +
        `confirm that plan: ${gate.confirmWith(gate.planHash)}`,
      gate.confirm,
      gate.planHash,
    );
  }
  if (gate.exceeded.length === 0) return false;
  if (gate.confirm !== undefined) return true;
  const { percent, minimum } = config.lifecycle.massChangeThreshold;
  const error = new MassChangeError(
    `${gate.exceeded.map(describe).join("; ")} — more than lifecycle.massChangeThreshold ` +
      `(${percent}% and at least ${minimum}); nothing was changed. Plan hash ${gate.planHash}. Check the HR ` +
      `data and the policy; if the change is intended, an admin confirms exactly this plan: ` +
      gate.confirmWith(gate.planHash),
    Object.fromEntries(
      gate.exceeded.map((c) => [
        `${c.kind}:${c.name}`,
        { disable: c.disable, delete: c.delete, total: c.total },
      ]),
    ),
    gate.planHash,
  );
  if (gate.recordStop === false) throw error;
  const at = gate.now.toISOString();
  await store.db.transaction().execute(async (trx) => {
    await appendEvents(trx, [
      {
        time: at,
        actor: gate.actor,
        action: "mass-change.stopped",
        subject: `plan:${gate.planHash}`,
        details: {
          run: gate.run,
          planHash: gate.planHash,
          threshold: { percent, minimum },
          exceeded: gate.exceeded.map((c) => ({ ...c })),
          stoppedBy: "threshold",
        },
      },
    ]);
    await enqueueNotifications(
      trx,
      {
        name: "mass-change.stopped",
        data: { run: gate.run, actor: gate.actor, planHash: gate.planHash, systems: [...gate.exceeded] },
      },
      config,
      gate.now,
    );
  });
  throw error;
}

function describe(c: MassChangeLevel): string {
  return c.kind === "source"
    ? `source ${c.name}: this run would terminate ${c.disable} of ${c.total} identities`
    : `system ${c.name}: this run would disable ${c.disable} and delete ${c.delete} of ${c.total} accounts`;
}

/** The systems whose planned disables and deletes exceed the threshold, with the counts. */
export interface MassChangeCount {
  system: string;
  disable: number;
  delete: number;
  /** Accounts the system has (the population the threshold is a share of). */
  total: number;
}

/**
 * Counts, per system, the distinct accounts the operations would disable or delete (an account both
 * disabled and deleted counts once in the total compared) and returns the systems where that exceeds
 * `lifecycle.massChangeThreshold` of the system's accounts. Pure.
 */
export function massChangesOf(
  ops: readonly PlannedOperation[],
  actualAccountCountBySystem: Readonly<Record<string, number>>,
  threshold: LifecycleConfig["massChangeThreshold"],
): MassChangeCount[] {
  const removals = new Map<string, { disable: Set<string>; delete: Set<string> }>();
  for (const op of ops) {
    if (op.kind !== "disable" && op.kind !== "delete") continue;
    const entry = removals.get(op.system) ?? { disable: new Set<string>(), delete: new Set<string>() };
    removals.set(op.system, entry);
    entry[op.kind].add(op.username);
  }
  const exceeded: MassChangeCount[] = [];
  for (const [system, entry] of removals) {
    const affected = new Set([...entry.disable, ...entry.delete]).size;
    const total = actualAccountCountBySystem[system] ?? 0;
    if (exceedsMassChangeThreshold(affected, total, threshold)) {
      exceeded.push({ system, disable: entry.disable.size, delete: entry.delete.size, total });
    }
  }
  return exceeded.sort((a, b) => (a.system < b.system ? -1 : a.system > b.system ? 1 : 0));
}

/**
 * Mass-change protection for provisioning: throws when, in any system, the operations would disable or
 * delete more than `lifecycle.massChangeThreshold` of its accounts. Records nothing: the run-level gate
 * (guardMassChange) records the stop; this is the queue's last check inside its own transaction.
 * @throws MassChangeError (exit code 3) naming every such system with its counts, and the operations' plan hash.
 */
export function checkMassChange(
  ops: readonly PlannedOperation[],
  actualAccountCountBySystem: Readonly<Record<string, number>>,
  threshold: LifecycleConfig["massChangeThreshold"],
): void {
  const exceeded = massChangesOf(ops, actualAccountCountBySystem, threshold);
  if (exceeded.length === 0) return;
  const parts = exceeded.map(
    (c) => `${c.system} (disable ${c.disable}, delete ${c.delete} of ${c.total} accounts)`,
  );
  const planHash = planHashOf({ sources: [], operations: ops });
  throw new MassChangeError(
    `this plan would disable or delete more than lifecycle.massChangeThreshold (${threshold.percent}% and at ` +
      `least ${threshold.minimum}) of the accounts in ${parts.join(", ")}; nothing was queued. Plan hash ` +
      `${planHash}. Check the HR data and the policy; if the change is intended, an admin confirms exactly ` +
      `this plan: tenure sync --confirm-mass-change ${planHash}`,
    Object.fromEntries(
      exceeded.map((c) => [`system:${c.system}`, { disable: c.disable, delete: c.delete, total: c.total }]),
    ),
    planHash,
  );
}
