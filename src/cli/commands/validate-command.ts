import type { Command } from "commander";
import { validateConfigFile } from "../../policy/config-loader.js";
import { redactConfig } from "../../policy/config-redaction.js";
import { configPath, globalOptions, outputFor } from "../context.js";
import { printError, printJson, println } from "../output.js";

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
    .action(async (cmdOpts: { show?: boolean }, cmd: Command) => {
      const opts = globalOptions(cmd);
      const o = outputFor(opts);
      const file = configPath(opts);
      const { config, errors } = await validateConfigFile(file);
      if (cmdOpts.show === true && config !== undefined && errors.length === 0) {
        printJson(o, redactConfig(config));
      } else if (o.json) {
        printJson(o, { file, valid: errors.length === 0, errors });
      } else if (errors.length === 0) {
        println(o, `${file}: valid`);
      } else {
        for (const e of errors)
          printError(o, `${e.file}:${e.line}:${e.column}: ${e.path ? `${e.path}: ` : ""}${e.message}`);
        printError(o, `${errors.length} error${errors.length === 1 ? "" : "s"} in ${file}`);
      }
      if (errors.length > 0) process.exitCode = 1;
    });
}
