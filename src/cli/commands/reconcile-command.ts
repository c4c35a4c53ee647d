import type { Command } from "commander";
import { connectorPool } from "../../engine/provision.js";
import { type ReconcileReport, reconcileSystem } from "../../engine/reconcile.js";
import { UsageError } from "../../shared/errors.js";
import { cliActor, globalOptions, now, outputFor, withStore } from "../context.js";
import { type Output, printJson, println } from "../output.js";

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
      const reports = await withStore(g, async ({ config, store }) => {
        const names = opts.system === undefined ? Object.keys(config.policy.systems) : [opts.system];
        if (opts.system !== undefined && config.policy.systems[opts.system] === undefined) {
          throw new UsageError(`--system "${opts.system}" is not a configured system`);
        }
        const pool = connectorPool(config);
        try {
          const out: ReconcileReport[] = [];
          for (const name of names) {
            out.push(
              await reconcileSystem(store, config.policy, name, pool.get(name), {
                now: now(),
                actor: cliActor(),
              }),
            );
          }
          return out;
        } finally {
          await pool.closeAll();
        }
      });
      if (o.json) printJson(o, { systems: reports });
      else for (const r of reports) printReport(o, r);
    });
}
