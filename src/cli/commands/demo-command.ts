import { copyFile, mkdtemp } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { Command } from "commander";
import { createTokenService } from "../../api/auth/token-service.js";
import { startServer } from "../../api/serve.js";
import { createDemoWorkspace, tamperDemoApps } from "../../demo/demo-workspace.js";
import { localDate } from "../../domain/local-date.js";
import { connectorPool } from "../../engine/provision.js";
import { reconcileSystem } from "../../engine/reconcile.js";
import { runSync } from "../../engine/run-sync.js";
import { configuredScheduler } from "../../engine/scheduled-jobs.js";
import { scanSod } from "../../engine/sod-scan.js";
import { loadConfig } from "../../policy/config-loader.js";
import type { TenureConfig } from "../../policy/config-types.js";
import { apiTokenRepository } from "../../store/api-token-repository.js";
import { openStore, type Store } from "../../store/database.js";
import { reviewProgressRepository } from "../../store/review-progress-repository.js";
import { allJobs } from "../../workflows/all-jobs.js";
import { globalOptions, now, outputFor } from "../context.js";
import { tenureCommand } from "../invocation.js";
import { printJson, println } from "../output.js";
import { LINK_MINUTES, signInLink } from "./console-command.js";
import { parsePort, serverClock, serveUntilSignalled } from "./serve-command.js";

/** A campaign the demo started, as its summary shows it. */
interface DemoCampaign {
  id: string;
  definition: string;
  items: number;
  reviewers: number;
  /** Items whose holder has no manager to review them: an admin assigns them. */
  noReviewer: number;
}

/**
 * Starts this quarter's run of each scheduled review campaign of the demo now, through its own job
 * (`review:NAME`, as `tenure schedule run` does): the campaign has items to look at at once, and the
 * scheduler of a later `tenure serve` counts this run as the quarter's rather than starting another.
 */
async function startDemoReviews(store: Store, config: TenureConfig, at: Date): Promise<DemoCampaign[]> {
  const deps = { store, config, now: () => at, actor: "demo" };
  const jobs = allJobs(deps);
  const names = jobs.map((j) => j.name).filter((name) => name.startsWith("review:"));
  if (names.length === 0) return [];
  const scheduler = configuredScheduler({ ...deps, jobs });
  let runs: Awaited<ReturnType<typeof scheduler.runDue>>["runs"];
  try {
    ({ runs } = await scheduler.runDue({ only: names }));
  } finally {
    await scheduler.stop();
  }
  const started: DemoCampaign[] = [];
  for (const run of runs) {
    if (run.status === "failed") throw new Error(`the demo could not start ${run.job}: ${run.error ?? "?"}`);
    const id = run.summary?.campaign;
    if (typeof id !== "string") continue;
    const loads = await reviewProgressRepository.byReviewer(store.db, id);
    started.push({
      id,
      definition: run.job.slice("review:".length),
      items: loads.reduce((n, l) => n + l.pending, 0),
      reviewers: loads.filter((l) => l.reviewerId !== null).length,
      noReviewer: loads.find((l) => l.reviewerId === null)?.pending ?? 0,
    });
  }
  return started;
}

export function registerDemo(program: Command): void {
  program
    .command("demo [dir]")
    .description(
      "build a demo organisation (240 people, three applications), run a week of its lifecycle, then serve the console and the API on it",
    )
    .option("--size <n>", "how many people", (v) => Number.parseInt(v, 10), 240)
    .option("--no-serve", "only build the organisation and print the summary")
    .option("--port <port>", "port for the API; 0 picks a free one (default 8080)", parsePort)
    .action(
      async (
        dir: string | undefined,
        opts: { size: number; serve: boolean; port?: number },
        cmd: Command,
      ) => {
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
          // What reconcile found is checked against the separation-of-duties rules.
          const sod = await scanSod(store, config, { now: at, actor: "demo" });
          // This quarter's access review starts now, so its items wait for their reviewers.
          const reviews = await startDemoReviews(store, config, at);
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
            sod: {
              open: sod.scan.open,
              opened: sod.opened.map((v) => ({ identity: v.identityId, rule: v.rule })),
            },
            reviews,
          };
          const printSummary = (): void => {
            const cfg = `--config ${ws.configPath}`;
            const tenure = tenureCommand();
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
            println(
              o,
              `  separation of duties: ${summary.sod.open} open violation(s) (tenure sod violations)`,
            );
            for (const c of reviews) {
              println(
                o,
                `  access review ${c.definition}: ${c.items} item(s) for ${c.reviewers} manager(s)${c.noReviewer > 0 ? `, ${c.noReviewer} with nobody to review them (an admin assigns them)` : ""} (tenure review list --campaign ${c.id})`,
              );
            }
            println(o, "");
            println(o, "Look around:");
            println(o, `  ${tenure} ${cfg} status`);
            println(o, `  ${tenure} ${cfg} identities list --state terminated`);
            println(o, `  ${tenure} ${cfg} explain ${ws.story.movers[0] ?? "E100001"}`);
            println(o, `  ${tenure} ${cfg} plan`);
            println(o, `  ${tenure} ${cfg} sod violations`);
            if (reviews[0] !== undefined) {
              println(o, `  ${tenure} ${cfg} review list --campaign ${reviews[0].id}`);
            }
            println(o, `  ${tenure} ${cfg} audit log --identity ${ws.story.leavers[0] ?? "E100001"}`);
            println(o, `  ${tenure} ${cfg} audit verify`);
          };
          if (!opts.serve) {
            if (o.json) printJson(o, summary);
            else printSummary();
            return;
          }
          // The API on the demo organisation, with an admin token made for it (shown here, stored hashed).
          const clock = serverClock();
          const { token } = await createTokenService({
            db: store.db,
            tokens: apiTokenRepository,
            now: clock,
          }).create({
            name: "demo-admin",
            role: "admin",
            expiresAt: null,
            actor: "demo",
          });
          const server = await startServer({
            config,
            store,
            now: clock,
            host: config.server.host,
            port: opts.port ?? config.server.port,
            logLevel: "warn",
          });
          const link = await signInLink(store, config, server.url, {
            name: "demo-admin",
            role: "admin",
            minutes: LINK_MINUTES,
            actor: "demo",
            now: clock,
          });
          if (o.json) printJson(o, { ...summary, api: { url: server.url, token }, console: link });
          else {
            printSummary();
            println(o, "");
            println(o, `The console: ${server.url}/`);
            println(o, `  sign in once with this link (valid ${LINK_MINUTES} minutes): ${link.url}`);
            println(
              o,
              `  or with the admin token below; a new link: ${tenureCommand()} --config ${ws.configPath} console link`,
            );
            println(o, "");
            println(o, `The API serves this organisation at ${server.url} (docs: ${server.url}/api/docs)`);
            println(o, `  admin token: ${token}`);
            println(
              o,
              `  curl -H "Authorization: Bearer ${token}" ${server.url}/api/identities?state=terminated`,
            );
            println(o, "Ctrl-C stops it.");
          }
          await serveUntilSignalled(server, config.server.shutdownGraceSeconds * 1000);
        } finally {
          await store.close();
        }
      },
    );
}
