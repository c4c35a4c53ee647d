import type { Command } from "commander";
import { checkSystems } from "../../engine/system-check.js";
import { validateConfigFile } from "../../policy/config-loader.js";
import { redactConfig } from "../../policy/config-redaction.js";
import { configPath, globalOptions, outputFor } from "../context.js";
import { printError, printJson, println } from "../output.js";
import { printChecks } from "./systems-command.js";

export function registerValidate(program: Command): void {
  program
    .command("validate")
    .description(
      "check tenure.yaml and report every error at once (file:line:column, key path, what was expected)",
    )
    .option(
      "--show",
      "print the effective configuration as JSON (defaults filled in, references shown as written, secrets masked)",
    )
    .option(
      "--connect",
      "after a valid check, connect to every system and read from it, changing nothing (tenure systems test)",
    )
    .action(async (cmdOpts: { show?: boolean; connect?: boolean }, cmd: Command) => {
      const opts = globalOptions(cmd);
      const o = outputFor(opts);
      const file = configPath(opts);
      const { config, errors } = await validateConfigFile(file);
      const checks =
        cmdOpts.connect === true && config !== undefined && errors.length === 0
          ? await checkSystems(config, Object.keys(config.policy.systems))
          : undefined;
      if (cmdOpts.show === true && config !== undefined && errors.length === 0) {
        printJson(o, redactConfig(config));
      } else if (o.json) {
        printJson(o, { file, valid: errors.length === 0, errors, ...(checks ? { systems: checks } : {}) });
      } else if (errors.length === 0) {
        println(o, `${file}: valid`);
        if (checks) printChecks(o, checks);
      } else {
        for (const e of errors)
          printError(o, `${e.file}:${e.line}:${e.column}: ${e.path ? `${e.path}: ` : ""}${e.message}`);
        printError(o, `${errors.length} error${errors.length === 1 ? "" : "s"} in ${file}`);
      }
      if (errors.length > 0 || checks?.some((c) => c.result === "failed")) process.exitCode = 1;
    });
}
