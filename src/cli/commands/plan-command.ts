import type { Command } from "commander";
import { previewPlan } from "../../engine/access-queries.js";
import { UsageError } from "../../shared/errors.js";
import { globalOptions, now, outputFor, withStore } from "../context.js";
import { printJson } from "../output.js";
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
        return previewPlan(store, config, {
          at,
          future: opts.at !== undefined,
          ...(opts.system !== undefined ? { system: opts.system } : {}),
        });
      });
      const { plan, queue, operations: ops } = preview;
      if (o.json) {
        printJson(o, {
          at: preview.at,
          totals: preview.totals,
          operations: ops,
          problems: preview.problems,
          queue,
        });
        return;
      }
      printPlan(o, ops, plan.identities, plan.problems, { limit: opts.limit, queue });
    });
}
