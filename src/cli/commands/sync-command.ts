import type { Command } from "commander";
import { type SourceSyncResult, syncAll } from "../../engine/sync.js";
import { cliActor, globalOptions, now, outputFor, withStore } from "../context.js";
import { type Output, printJson, println } from "../output.js";
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
    println(o, "  dry run: nothing was changed");
  }
}

export function registerSync(program: Command): void {
  program
    .command("sync")
    .description("read the HR sources and bring identities and their lifecycle up to date")
    .option("--dry-run", "show what would change, change nothing")
    .option("--source <name>", "only this source")
    .option("--confirm-mass-change", "let a run through mass-change protection (recorded in the audit)")
    .action(
      async (opts: { dryRun?: boolean; source?: string; confirmMassChange?: boolean }, cmd: Command) => {
        const g = globalOptions(cmd);
        const o = outputFor(g);
        const progress = createProgress(!o.json, "sync");
        try {
          const results = await withStore(g, ({ config, store }) =>
            syncAll(store, config, {
              now: now(),
              actor: cliActor(),
              dryRun: opts.dryRun === true,
              confirmMassChange: opts.confirmMassChange === true,
              ...(opts.source !== undefined ? { source: opts.source } : {}),
              onProgress: (p) => progress.update(p.done, p.total, `${p.source} ${p.phase}`),
            }),
          );
          progress.stop();
          if (o.json) printJson(o, { results });
          else for (const r of results) printResult(o, r);
        } finally {
          progress.stop();
        }
      },
    );
}
