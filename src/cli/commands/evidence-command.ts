import type { Command } from "commander";
import { writeEvidencePack } from "../../workflows/evidence-pack.js";
import { parsePeriod } from "../../workflows/evidence-period.js";
import { globalOptions, now, outputFor, withStore } from "../context.js";
import { printError, printJson, println } from "../output.js";
import { createProgress } from "../progress.js";

/** `tenure evidence`: the folder an auditor takes away for a period (docs/reports.md). */
export function registerEvidence(program: Command): void {
  program
    .command("evidence")
    .description(
      "write an evidence pack for a period: every report, the ledger's verification and head, the configurations in force, an index by SOC 2 / ISO 27001 control and a SHA-256 manifest",
    )
    .requiredOption("--period <period>", "a quarter (2026-Q3), a month (2026-07), a year (2026) or FROM..TO")
    .requiredOption("--out <dir>", "a new or empty folder to write the pack to")
    .action(async (opts: { period: string; out: string }, cmd: Command) => {
      const g = globalOptions(cmd);
      const o = outputFor(g);
      const period = parsePeriod(opts.period);
      await withStore(g, async ({ store, config }) => {
        const progress = createProgress(!o.json, "evidence");
        let pack: Awaited<ReturnType<typeof writeEvidencePack>>;
        try {
          pack = await writeEvidencePack(store, config, {
            period,
            out: opts.out,
            now: now(),
            onProgress: (done, total, label) => progress.update(done, total, label),
          });
        } finally {
          progress.stop();
        }
        for (const alert of pack.alerts) printError(o, `ALERT: ${alert}`);
        if (o.json) printJson(o, pack);
        else {
          println(
            o,
            `evidence for ${pack.period.label} (${pack.period.from} – ${pack.period.to}) written to ${pack.folder}:`,
          );
          println(
            o,
            `  ${pack.files.length} files, indexed by control in INDEX.md; sha256sum -c MANIFEST.sha256 checks them`,
          );
          println(
            o,
            `  ledger ${pack.ledger.ok ? "verified" : "VERIFICATION FAILED"}: ${pack.ledger.checked} events, head ${pack.ledger.headSeq} ${pack.ledger.headHash}`,
          );
          println(
            o,
            `  published heads ${pack.publishedHeads.ok ? "hold" : "DO NOT HOLD"}: ${pack.publishedHeads.checked} checked`,
          );
          println(o, `  ${pack.configurations.length} configuration(s) in force during the period`);
        }
        // The pack is written either way; a chain or a published head that does not hold makes it evidence of that only.
        if (!pack.ledger.ok || !pack.publishedHeads.ok) process.exitCode = 1;
      });
    });
}
