import type { OperationKind, PlannedOperation } from "../domain/access-types.js";
import type { Identity } from "../domain/identity-types.js";
import { describeLineage } from "../domain/lineage-format.js";
import type { PlanProblem } from "../domain/plan.js";
import { planTotals } from "../engine/access-queries.js";
import { type Output, println } from "./output.js";

const SYMBOL: Record<OperationKind, string> = {
  create: "+",
  grant: "+",
  enable: "+",
  update: "~",
  rotate: "~",
  disable: "-",
  revoke: "-",
  delete: "-",
};

export { planTotals } from "../engine/access-queries.js";

/** The plan as people read it: per system, per identity, `+` adds, `-` removes, `~` changes. */
export function printPlan(
  o: Output,
  ops: readonly PlannedOperation[],
  identities: readonly Identity[],
  problems: readonly PlanProblem[],
  options: { limit?: number; queue?: QueueCounts } = {},
): void {
  const names = new Map(identities.map((i) => [i.id, `${i.attributes.displayName} (${i.sourceKey})`]));
  const starts = new Map(identities.map((i) => [i.id, i.attributes.startDate]));
  const bySystem = new Map<string, PlannedOperation[]>();
  for (const op of ops) {
    const list = bySystem.get(op.system) ?? [];
    list.push(op);
    bySystem.set(op.system, list);
  }
  const limit = options.limit ?? Number.POSITIVE_INFINITY;
  let shown = 0;
  for (const [system, list] of [...bySystem].sort(([a], [b]) => a.localeCompare(b))) {
    println(o, `${system}:`);
    let lastSubject = "";
    for (const op of list) {
      if (shown >= limit) break;
      const subject =
        op.identityId === null ? `orphan ${op.username}` : (names.get(op.identityId) ?? op.identityId);
      if (subject !== lastSubject) {
        println(o, `  ${subject}`);
        lastSubject = subject;
      }
      const what =
        op.entitlement !== null
          ? `${op.kind} ${op.entitlement}`
          : `${op.kind} account ${op.username}${detailOf(op, op.identityId === null ? null : starts.get(op.identityId))}`;
      const why = op.lineage[0] ? describeLineage(op.lineage[0]) : op.reason;
      println(o, `    ${SYMBOL[op.kind]} ${what}${op.drift ? " [drift]" : ""}  — ${why}`);
      shown++;
    }
  }
  if (shown < ops.length) println(o, `  … ${ops.length - shown} more operations (use --json for all)`);
  for (const p of problems) println(o, `! ${p.message}`);
  const t = planTotals(ops);
  const kinds = Object.entries(t.byKind)
    .map(([k, n]) => `${n} ${k}`)
    .join(", ");
  const queue = options.queue;
  const queued = queue === undefined ? 0 : queue.pending + queue.running + queue.failed;
  if (ops.length > 0) {
    println(o, `Plan: ${t.operations} operation${t.operations === 1 ? "" : "s"} (${kinds}).`);
  } else if (queued > 0) {
    // Nothing new to plan is not "nothing to do": what earlier runs queued has not reached the systems.
    println(
      o,
      `No new changes, but ${queued} operation${queued === 1 ? " is" : "s are"} queued and not yet applied: run tenure apply.`,
    );
  } else {
    println(o, "No changes: every system matches policy.");
  }
  if (queue !== undefined && queue.pending + queue.running + queue.failed + queue.dead > 0) {
    println(
      o,
      `Queued from earlier runs: ${queue.pending} pending, ${queue.running} running, ` +
        `${queue.failed} failed and retrying, ${queue.dead} dead (see tenure status).`,
    );
  }
}

/** Operations in the queue by state, as `tenure plan` reports them beside the plan. */
export interface QueueCounts {
  pending: number;
  running: number;
  failed: number;
  dead: number;
}

/** Attributes never shown in a plan: they hold credentials. */
const HIDDEN_ATTRIBUTES = /pass|secret|token|key/i;

/**
 * What a person needs to read an account operation: that a joiner's account is created disabled and
 * until when, and which fields an update sets.
 */
function detailOf(op: PlannedOperation, startDate: string | null | undefined): string {
  if (op.kind === "create" && op.enabled === false) {
    return startDate ? ` (disabled until ${startDate})` : " (disabled)";
  }
  if (op.kind === "update" && op.attributes !== null) {
    const fields = Object.entries(op.attributes).map(([name, value]) =>
      HIDDEN_ATTRIBUTES.test(name)
        ? `${name} (changed, not shown)`
        : `${name} → ${value === null ? "(cleared)" : JSON.stringify(value)}`,
    );
    return fields.length > 0 ? `: ${fields.join(", ")}` : "";
  }
  return "";
}
