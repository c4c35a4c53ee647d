import { writeFileSync } from "node:fs";
import type { Command } from "commander";
import { UsageError } from "../../shared/errors.js";
import { REPORTS, reportDefinition } from "../../workflows/report-registry.js";
import { REPORT_FORMATS, type ReportFormat, renderReport } from "../../workflows/report-render.js";
import { globalOptions, now, outputFor, withStore } from "../context.js";
import { dateOption } from "../date-option.js";
import { printError, printJson, println, printTable } from "../output.js";

/** `tenure report`: the evidence reports an auditor asks for, as CSV, JSON or one HTML file. */
export function registerReport(program: Command): void {
  const report = program
    .command("report")
    .description(
      "evidence reports for auditors: leavers, orphan accounts, privileged access, changes, reviews, SoD",
    )
    .argument("[name]", "the report (tenure report --list shows them)")
    .option("--list", "list the reports")
    .option("--from <date>", "start of the period (default: 30 days before --to)")
    .option("--to <date>", "end of the period, exclusive (default: now)")
    .option("--format <format>", `${REPORT_FORMATS.join(", ")} (default: csv; json with --json)`)
    .option("--out <file>", "write to this file rather than standard output");
  report.action(
    async (
      name: string | undefined,
      opts: { list?: boolean; from?: string; to?: string; format?: string; out?: string },
      cmd: Command,
    ) => {
      const g = globalOptions(cmd);
      const o = outputFor(g);
      if (opts.list === true || name === undefined) {
        if (o.json)
          printJson(
            o,
            REPORTS.map(({ name, title, description, period }) => ({ name, title, description, period })),
          );
        else
          printTable(
            o,
            ["REPORT", "PERIOD", "WHAT"],
            REPORTS.map((r) => [r.name, r.period ? "--from/--to" : "now", r.description]),
          );
        return;
      }
      const definition = reportDefinition(name);
      const format = (opts.format ?? (g.json === true ? "json" : "csv")) as ReportFormat;
      if (!(REPORT_FORMATS as readonly string[]).includes(format))
        throw new UsageError(`--format ${opts.format}: expected ${REPORT_FORMATS.join(", ")}`);
      const from = dateOption(opts.from, "--from");
      const to = dateOption(opts.to, "--to");
      if (from !== undefined && to !== undefined && from >= to)
        throw new UsageError(`--from ${opts.from} is not before --to ${opts.to}`);
      if (!definition.period && (from !== undefined || to !== undefined))
        throw new UsageError(`report ${name} describes the present: --from and --to do not apply`);
      await withStore(g, async ({ store, config }) => {
        const result = await definition.run(store, config, {
          now: now(),
          ...(from !== undefined ? { from } : {}),
          ...(to !== undefined ? { to } : {}),
        });
        const text = renderReport(result, format);
        for (const alert of result.alerts) printError(o, `ALERT: ${alert}`);
        if (opts.out !== undefined) {
          writeFileSync(opts.out, text);
          println(o, `${result.title}: ${result.rows.length} row(s) written to ${opts.out}`);
        } else o.out.write(text);
      });
    },
  );
}
