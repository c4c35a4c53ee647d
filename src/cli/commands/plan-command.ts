import type { Command } from "commander";
import { previewPlan } from "../../engine/access-queries.js";
import { newViolations } from "../../engine/sod-scan.js";
import { UsageError } from "../../shared/errors.js";
import { previewNhiDisables } from "../../workflows/nhi-plan-preview.js";
import { globalOptions, now, outputFor, withStore } from "../context.js";
import { printJson, println } from "../output.js";
import { printNhiDisables } from "../plan-nhi-output.js";
import { printPlan } from "../plan-output.js";

function parseAt(value: string): Date {
  const at = new Date(/^\d{4}-\d{2}-\d{2}$/.test(value) ? `${value}T12:00:00Z` : value);
  if (Number.isNaN(at.getTime()))
    throw new UsageError(`--at "${value}" is not a date (YYYY-MM-DD) or ISO-8601 time`);
  return at;
}

export function registerPlan(program: Command): void {
  program
    .command("plan")
    .description(
      "show what provisioning would change in every system, changing nothing (with --config NEW.yaml: a policy change's blast radius)",
    )
    .option("--at <date>", "preview the lifecycle on a future date (starts, end dates, expiries)", parseAt)
    .option("--system <name>", "only this system")
    .option("--limit <n>", "print at most this many operations", (v) => Number.parseInt(v, 10), 500)
    .action(async (opts: { at?: Date; system?: string; limit: number }, cmd: Command) => {
      const g = globalOptions(cmd);
      const o = outputFor(g);
      const at = opts.at ?? now();
      const preview = await withStore(g, async ({ config, store }) => {
        if (opts.system !== undefined && config.policy.systems[opts.system] === undefined) {
          throw new UsageError(`--system "${opts.system}" is not a configured system`);
        }
        const plan = await previewPlan(store, config, {
          at,
          future: opts.at !== undefined,
          ...(opts.system !== undefined ? { system: opts.system } : {}),
        });
        // A role, rule or sod: change (this --config against what is stored) shows whom it would put
        // in conflict before it is merged; --at shows future-dated grants at their time.
        // NHIs owner succession would disable by then (nobody confirming), and their accounts.
        const nhiDisables = await previewNhiDisables(store, config, now(), at, opts.system);
        return { ...plan, sod: await newViolations(store, config, at), nhiDisables };
      });
      const { plan, queue, operations: ops } = preview;
      if (o.json) {
        printJson(o, {
          at: preview.at,
          totals: preview.totals,
          operations: ops,
          problems: preview.problems,
          queue,
          sod: { newViolations: preview.sod },
          nhiDisables: preview.nhiDisables,
        });
        return;
      }
      printPlan(o, ops, plan.identities, plan.problems, { limit: opts.limit, queue });
      if (preview.sod.length > 0) {
        println(o);
        println(o, `Separation of duties: ${preview.sod.length} new violation(s) under this policy:`);
        for (const v of preview.sod) {
          const when = Date.parse(v.from) > at.getTime() ? ` from ${v.from}` : "";
          println(
            o,
            `  ${v.name} would break ${v.rule} (${v.severity})${when}${v.withheld ? " — withheld" : ""}: ${v.access}`,
          );
        }
      }
      printNhiDisables(o, preview.nhiDisables, at);
    });
}
