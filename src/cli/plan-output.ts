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
  options: { limit?: number } = {},
): void {
  const names = new Map(identities.map((i) => [i.id, `${i.attributes.displayName} (${i.sourceKey})`]));
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
        op.entitlement !== null ? `${op.kind} ${op.entitlement}` : `${op.kind} account ${op.username}`;
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
  println(
    o,
    ops.length === 0
      ? "No changes: every system matches policy."
      : `Plan: ${t.operations} operation${t.operations === 1 ? "" : "s"} (${kinds}).`,
  );
}
