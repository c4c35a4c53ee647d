import type { Command } from "commander";
import { loadConfig } from "../../policy/config-loader.js";
import { runChecks } from "../../workflows/ci-check.js";
import { configPath, globalOptions, now, outputFor } from "../context.js";
import { printJson, println } from "../output.js";

/** `tenure check`: the CI gate (docs/nhi.md "A CI gate"); exits 1 with one line per finding. */
export function registerCheck(program: Command): void {
  program
    .command("check")
    .description(
      "the CI gate: exit 1, one line per finding, for a secret written out in tenure.yaml, an NHI without an owner, a credential past its maximum age, a certificate expiring within the window or a disallowed scope",
    )
    .action(async (_opts: unknown, cmd: Command) => {
      const g = globalOptions(cmd);
      const o = outputFor(g);
      const config = await loadConfig(configPath(g));
      const findings = await runChecks(config, now());
      const errors = findings.filter((f) => f.severity === "error").length;
      if (o.json) printJson(o, { ok: errors === 0, findings });
      else {
        for (const f of findings) println(o, `${f.where}: ${f.severity} ${f.code}: ${f.message}`);
        println(
          o,
          errors === 0 ? `check passed (${findings.length} warning(s))` : `check failed: ${errors} error(s)`,
        );
      }
      if (errors > 0) process.exitCode = 1;
    });
}
