import type { Command } from "commander";
import { type RunSyncResult, runSync } from "../../engine/run-sync.js";
import type { SourceSyncResult } from "../../engine/sync.js";
import { MassChangeError, PlanChangedError } from "../../shared/errors.js";
import { withTraceId } from "../../shared/trace-context.js";
import { withSyncLock } from "../../store/run-lock.js";
import { cliActor, globalOptions, now, outputFor, parsePlanHash, withStore } from "../context.js";
import { runExitCode } from "../exit-codes.js";
import { type Output, printJson, println } from "../output.js";
import { planTotals, printPlan } from "../plan-output.js";
import { createProgress } from "../progress.js";
import { cliRunTraceId } from "../trace-run.js";

function printResult(o: Output, r: SourceSyncResult): void {
  const verb = r.dryRun ? "would" : "did";
  println(
    o,
    `source ${r.source}: ${r.rowsRead} rows read, ${r.recordsValid} valid, ${r.rowsSkipped} skipped`,
  );
  for (const f of r.findings) {
    println(
      o,
      `  ${f.severity} row ${f.row}${f.line ? ` (line ${f.line})` : ""}${f.key ? ` [${f.key}]` : ""}: ${f.code}: ${f.message}`,
    );
  }
  println(
    o,
    `  ${r.dryRun ? "plan" : "done"}: ${r.created} created, ${r.updated} updated, ${r.rehired} rehired, ${r.terminated} terminated, ${r.unchanged} unchanged`,
  );
  for (const [move, n] of Object.entries(r.transitions)) println(o, `  ${verb} move ${n} ${move}`);
  if (r.dryRun) {
    for (const c of r.changes.slice(0, 50)) {
      println(o, `  ~ ${c.key} ${c.name}: ${c.from ?? "new"} → ${c.to} (${c.actions.join(", ")})`);
    }
    if (r.changes.length > 50) println(o, `  … and ${r.changes.length - 50} more (use --json for all)`);
  }
}

/** What goes in --json: the result without the in-memory identities. */
function forJson(r: SourceSyncResult): Omit<SourceSyncResult, "identities"> {
  const { identities: _identities, ...rest } = r;
  return rest;
}

export function registerSync(program: Command): void {
  program
    .command("sync")
    .description("read the HR sources, apply the lifecycle, then plan and apply provisioning to every system")
    .option("--dry-run", "show what would change (identities and the provisioning plan), change nothing")
    .option("--source <name>", "only this source")
    .option(
      "--confirm-mass-change <planHash>",
      "apply a run stopped by mass-change protection — exactly the plan with this hash (printed by the stop " +
        "and by --dry-run); refused if the plan changed since; recorded in the audit",
      parsePlanHash,
    )
    .action(async (opts: { dryRun?: boolean; source?: string; confirmMassChange?: string }, cmd: Command) => {
      const g = globalOptions(cmd);
      const o = outputFor(g);
      const progress = createProgress(!o.json, "sync");
      let applied = 0;
      // The operations this run queues carry its trace id (`operations list --trace-id`).
      const traceId = cliRunTraceId();
      try {
        const run = await withTraceId(traceId, () =>
          withStore(g, ({ config, store }) =>
            // One sync at a time per store (a dry run changes nothing and needs no lock).
            withSyncLock(store, { dryRun: opts.dryRun === true, command: "tenure sync", now: now() }, () =>
              runSync(store, config, {
                now: now(),
                actor: cliActor(),
                dryRun: opts.dryRun === true,
                ...(opts.confirmMassChange !== undefined
                  ? { confirmMassChange: opts.confirmMassChange }
                  : {}),
                ...(opts.source !== undefined ? { source: opts.source } : {}),
                onProgress: (p) => progress.update(p.done, p.total, `${p.source} ${p.phase}`),
                onApply: () => progress.update(++applied, undefined, "apply"),
              }),
            ),
          ),
        );
        progress.stop();
        printRun(o, run, opts.dryRun === true, traceId);
        const summary = run.provisioned?.applied?.summary;
        process.exitCode = runExitCode({
          dead: summary?.dead ?? 0,
          failed: summary?.failed ?? 0,
          // An identity policy wants an account for that gets none, or a system that could not be read
          // and so was not provisioned: each named on a `!` line above.
          unprovisioned: (run.provisioned?.plan.problems ?? []).filter(
            (p) => p.kind === "username-empty" || p.kind === "username-taken" || p.kind === "system-unread",
          ).length,
        });
      } catch (err) {
        progress.stop();
        // --json callers read the stop (and its plan hash) from stdout; the message still goes to stderr.
        if (o.json && (err instanceof MassChangeError || err instanceof PlanChangedError)) {
          printJson(o, {
            error: {
              code: err.code,
              message: err.message,
              planHash: err.planHash,
              ...(err instanceof MassChangeError ? { counts: err.counts } : { confirmed: err.confirmed }),
            },
          });
        }
        throw err;
      } finally {
        progress.stop();
      }
    });
}

function printRun(o: Output, run: RunSyncResult, dryRun: boolean, traceId: string): void {
  const { sources, plan, provisioned, massChange } = run;
  if (o.json) {
    printJson(o, {
      traceId,
      massChange,
      results: sources.map(forJson),
      plan:
        dryRun && plan
          ? { totals: planTotals(plan.operations), operations: plan.operations, problems: plan.problems }
          : null,
      provisioning: provisioned && {
        planned: provisioned.plan.operations.length,
        problems: provisioned.plan.problems,
        queued: provisioned.queued?.queued.length ?? 0,
        applied: provisioned.applied?.summary,
        dead: provisioned.applied?.dead,
      },
    });
    return;
  }
  for (const r of sources) printResult(o, r);
  if (dryRun) {
    if (plan) printPlan(o, plan.operations, plan.identities, plan.problems, { limit: 200 });
    println(o, `plan hash: ${massChange.planHash}`);
    for (const c of massChange.exceeded) {
      println(
        o,
        c.kind === "source"
          ? `! mass change: source ${c.name} would terminate ${c.disable} of ${c.total} identities`
          : `! mass change: system ${c.name} would disable ${c.disable} and delete ${c.delete} of ${c.total} accounts`,
      );
    }
    if (massChange.exceeded.length > 0) {
      println(
        o,
        `  a real run stops; to apply exactly this plan: tenure sync --confirm-mass-change ${massChange.planHash}`,
      );
    }
    println(o, "dry run: nothing was changed");
    return;
  }
  if (provisioned) {
    const s = provisioned.applied?.summary;
    println(
      o,
      `provisioning: ${provisioned.plan.operations.length} operations planned, ${provisioned.queued?.queued.length ?? 0} queued; ` +
        `${s?.succeeded ?? 0} succeeded, ${s?.failed ?? 0} failed (will retry), ${s?.dead ?? 0} dead` +
        (s?.awaiting ? `; ${s.awaiting} handed to people as tasks (tenure tasks list)` : ""),
    );
    for (const p of provisioned.plan.problems) println(o, `! ${p.message}`);
    for (const d of provisioned.applied?.dead ?? []) {
      println(o, `  dead: ${d.system} ${d.kind} ${d.entitlement ?? d.username}: ${d.error ?? ""}`);
    }
  }
}
