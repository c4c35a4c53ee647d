import type { Command } from "commander";
import { connectorPool } from "../../engine/provision.js";
import { type ReconcileOutcome, type ReconcileReport, reconcileSystems } from "../../engine/reconcile.js";
import { UsageError } from "../../shared/errors.js";
import { cliActor, globalOptions, now, outputFor, withStore } from "../context.js";
import { type Output, printJson, println } from "../output.js";

function printOutcome(o: Output, r: ReconcileOutcome): void {
  if (r.outcome === "reconciled") {
    printReport(o, r);
    return;
  }
  // Connector messages start with the system's name, which the line already begins with.
  const reason = r.error.startsWith(`${r.system}: `) ? r.error.slice(r.system.length + 2) : r.error;
  println(o, `${r.system}: FAILED, nothing read or changed: ${reason}`);
}

function printReport(o: Output, r: ReconcileReport): void {
  if (!r.read) {
    println(o, `${r.system}: not read (no API; ${r.accounts} accounts recorded by completed tasks)`);
    return;
  }
  println(o, `${r.system}: ${r.accounts} accounts read, ${r.correlated} belong to identities`);
  for (const a of r.adopted) println(o, `  adopted ${a.username} → identity ${a.identityId}`);
  for (const orphan of r.orphans) {
    const action =
      r.policy.orphans === "disable" && orphan.enabled ? "will be disabled by the next apply" : "reported";
    println(o, `  orphan ${orphan.username} (${orphan.enabled ? "enabled" : "disabled"}): ${action}`);
  }
  const revert = r.policy.drift === "enforce" ? "reverted by the next apply" : "reported (drift: report)";
  for (const d of r.unmanagedEntitlements)
    println(o, `  drift: ${d.username} has ${d.entitlement}, not granted by Tenure — ${revert}`);
  for (const d of r.missingEntitlements)
    println(o, `  drift: ${d.username} lost ${d.entitlement} out of band — ${revert}`);
  for (const v of r.vanished) println(o, `  drift: managed account ${v} is gone from the system — ${revert}`);
}

export function registerReconcile(program: Command): void {
  program
    .command("reconcile")
    .description(
      "read every account and membership from the systems, correlate them, report orphans and drift",
    )
    .option("--system <name>", "only this system")
    .action(async (opts: { system?: string }, cmd: Command) => {
      const g = globalOptions(cmd);
      const o = outputFor(g);
      const run = await withStore(g, async ({ config, store }) => {
        const names = opts.system === undefined ? Object.keys(config.policy.systems) : [opts.system];
        if (opts.system !== undefined && config.policy.systems[opts.system] === undefined) {
          throw new UsageError(`--system "${opts.system}" is not a configured system`);
        }
        const pool = connectorPool(config);
        try {
          // A system that fails is reported and the others are still reconciled; exit 1 at the end.
          const at = now();
          return await reconcileSystems(store, config, names, pool, { now: () => at, actor: cliActor() });
        } finally {
          await pool.closeAll();
        }
      });
      if (o.json) printJson(o, run);
      else {
        for (const r of run.systems) printOutcome(o, r);
        if (run.failed > 0)
          println(o, `${run.failed} of ${run.systems.length} systems failed; the others were reconciled`);
      }
      if (run.failed > 0) process.exitCode = 1;
    });
}
