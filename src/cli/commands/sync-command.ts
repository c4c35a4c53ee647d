import type { Command } from "commander";
import { computeProvisionPlan, provision } from "../../engine/provision.js";
import { type SourceSyncResult, syncAll } from "../../engine/sync.js";
import { cliActor, globalOptions, now, outputFor, withStore } from "../context.js";
import { type Output, printJson, println } from "../output.js";
import { planTotals, printPlan } from "../plan-output.js";
import { createProgress } from "../progress.js";

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
    .option("--confirm-mass-change", "let a run through mass-change protection (recorded in the audit)")
    .action(
      async (opts: { dryRun?: boolean; source?: string; confirmMassChange?: boolean }, cmd: Command) => {
        const g = globalOptions(cmd);
        const o = outputFor(g);
        const progress = createProgress(!o.json, "sync");
        const actor = cliActor();
        try {
          await withStore(g, async ({ config, store }) => {
            const at = now();
            const results = await syncAll(store, config, {
              now: at,
              actor,
              dryRun: opts.dryRun === true,
              confirmMassChange: opts.confirmMassChange === true,
              ...(opts.source !== undefined ? { source: opts.source } : {}),
              onProgress: (p) => progress.update(p.done, p.total, `${p.source} ${p.phase}`),
            });
            progress.stop();
            const hasSystems = Object.keys(config.policy.systems).length > 0;
            if (opts.dryRun) {
              const plan = hasSystems
                ? await computeProvisionPlan(store, config, {
                    now: at,
                    overrides: results.flatMap((r) => r.identities),
                  })
                : null;
              if (o.json) {
                printJson(o, {
                  results: results.map(forJson),
                  plan: plan && {
                    totals: planTotals(plan.operations),
                    operations: plan.operations,
                    problems: plan.problems,
                  },
                });
                return;
              }
              for (const r of results) printResult(o, r);
              if (plan) printPlan(o, plan.operations, plan.identities, plan.problems, { limit: 200 });
              println(o, "dry run: nothing was changed");
              return;
            }
            let done = 0;
            const provisioned = hasSystems
              ? await provision(store, config, {
                  now,
                  actor,
                  confirmMassChange: opts.confirmMassChange === true,
                  onProgress: () => progress.update(++done, undefined, "apply"),
                })
              : null;
            progress.stop();
            if (o.json) {
              printJson(o, {
                results: results.map(forJson),
                provisioning: provisioned && {
                  planned: provisioned.plan.operations.length,
                  problems: provisioned.plan.problems,
                  queued: provisioned.queued?.queued.length,
                  applied: provisioned.applied?.summary,
                  dead: provisioned.applied?.dead,
                },
              });
            } else {
              for (const r of results) printResult(o, r);
              if (provisioned) {
                const s = provisioned.applied?.summary;
                println(
                  o,
                  `provisioning: ${provisioned.plan.operations.length} operations planned, ${provisioned.queued?.queued.length ?? 0} queued; ` +
                    `${s?.succeeded ?? 0} succeeded, ${s?.failed ?? 0} failed (will retry), ${s?.dead ?? 0} dead`,
                );
                for (const p of provisioned.plan.problems) println(o, `! ${p.message}`);
                for (const d of provisioned.applied?.dead ?? []) {
                  println(
                    o,
                    `  dead: ${d.system} ${d.kind} ${d.entitlement ?? d.username}: ${d.error ?? ""}`,
                  );
                }
              }
            }
            if ((provisioned?.applied?.summary.dead ?? 0) > 0) process.exitCode = 1;
          });
        } finally {
          progress.stop();
        }
      },
    );
}
