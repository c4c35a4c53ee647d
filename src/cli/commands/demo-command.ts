import { copyFile, mkdtemp } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { Command } from "commander";
import { createDemoWorkspace, tamperDemoApps } from "../../demo/demo-workspace.js";
import { localDate } from "../../domain/local-date.js";
import { connectorPool } from "../../engine/provision.js";
import { reconcileSystem } from "../../engine/reconcile.js";
import { runSync } from "../../engine/run-sync.js";
import { loadConfig } from "../../policy/config-loader.js";
import { openStore } from "../../store/database.js";
import { globalOptions, now, outputFor } from "../context.js";
import { printJson, println } from "../output.js";

export function registerDemo(program: Command): void {
  program
    .command("demo [dir]")
    .description("build a demo organisation (240 people, three applications) and run a week of its lifecycle")
    .option("--size <n>", "how many people", (v) => Number.parseInt(v, 10), 240)
    .action(async (dir: string | undefined, opts: { size: number }, cmd: Command) => {
      const o = outputFor(globalOptions(cmd));
      const at = now();
      const lastWeek = new Date(at.getTime() - 7 * 86_400_000);
      const target = dir ?? (await mkdtemp(path.join(os.tmpdir(), "tenure-demo-")));
      const ws = await createDemoWorkspace(target, localDate(at, "Europe/London"), opts.size);
      const config = await loadConfig(ws.configPath);
      const store = await openStore(config.database, { baseDir: config.baseDir });
      try {
        // A week ago: the first export arrives and every application is provisioned.
        const firstRun = await runSync(store, config, { now: lastWeek, actor: "demo" });
        // During the week someone changes things behind Tenure's back.
        tamperDemoApps(ws.dir);
        // Today: this week's export, with movers, leavers and new hires.
        await copyFile(ws.exports.today, ws.csvPath);
        const secondRun = await runSync(store, config, { now: at, actor: "demo" });
        const pool = connectorPool(config);
        const reconciled = [];
        try {
          for (const name of Object.keys(config.policy.systems)) {
            reconciled.push(
              await reconcileSystem(store, config.policy, name, pool.get(name), { now: at, actor: "demo" }),
            );
          }
        } finally {
          await pool.closeAll();
        }
        const summary = {
          workspace: ws.dir,
          people: firstRun.sources[0]?.created ?? 0,
          story: ws.story,
          lastWeek: { operations: firstRun.provisioned?.applied?.summary },
          today: {
            transitions: secondRun.sources[0]?.transitions ?? {},
            operations: secondRun.provisioned?.applied?.summary,
          },
          reconcile: reconciled.map((r) => ({
            system: r.system,
            accounts: r.accounts,
            orphans: r.orphans.length,
            drift: r.unmanagedEntitlements.length + r.missingEntitlements.length,
          })),
        };
        if (o.json) {
          printJson(o, summary);
          return;
        }
        const cfg = `--config ${ws.configPath}`;
        println(o, `Demo organisation in ${ws.dir}`);
        println(
          o,
          `  ${summary.people} people from HR; three applications: wiki, payroll, deploy (SQLite tables in apps/)`,
        );
        println(
          o,
          `  a week ago: ${firstRun.provisioned?.applied?.summary.succeeded ?? 0} provisioning operations applied`,
        );
        println(
          o,
          `  today: ${Object.entries(summary.today.transitions)
            .map(([k, n]) => `${n} ${k}`)
            .join(", ")}; ${secondRun.provisioned?.applied?.summary.succeeded ?? 0} operations applied`,
        );
        for (const r of summary.reconcile) {
          println(
            o,
            `  reconcile ${r.system}: ${r.accounts} accounts, ${r.orphans} orphans, ${r.drift} drift`,
          );
        }
        println(o, "");
        println(o, "Look around:");
        println(o, `  npx tenure ${cfg} status`);
        println(o, `  npx tenure ${cfg} identities list --state terminated`);
        println(o, `  npx tenure ${cfg} explain ${ws.story.movers[0] ?? "E100001"}`);
        println(o, `  npx tenure ${cfg} plan`);
        println(o, `  npx tenure ${cfg} audit log --identity ${ws.story.leavers[0] ?? "E100001"}`);
        println(o, `  npx tenure ${cfg} audit verify`);
      } finally {
        await store.close();
      }
    });
}
