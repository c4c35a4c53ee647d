import { Command, CommanderError } from "commander";
import { InvalidInputError, TenureError } from "../shared/errors.js";
import { registerAudit } from "./commands/audit-command.js";
import { registerCheck } from "./commands/check-command.js";
import { registerCompletion } from "./commands/completion-command.js";
import { registerConsole } from "./commands/console-command.js";
import { registerDemo } from "./commands/demo-command.js";
import { registerEvidence } from "./commands/evidence-command.js";
import { registerExplain } from "./commands/explain-command.js";
import { registerIdentities } from "./commands/identities-command.js";
import { registerInit } from "./commands/init-command.js";
import { registerNhi } from "./commands/nhi-command.js";
import { registerNotify } from "./commands/notify-command.js";
import { registerPlan } from "./commands/plan-command.js";
import { registerReconcile } from "./commands/reconcile-command.js";
import { registerReport } from "./commands/report-command.js";
import { registerElevate, registerRequest } from "./commands/request-command.js";
import { registerReview } from "./commands/review-command.js";
import { registerSchedule } from "./commands/schedule-command.js";
import { registerServe } from "./commands/serve-command.js";
import { registerSod } from "./commands/sod-command.js";
import { registerStatus } from "./commands/status-command.js";
import { registerSync } from "./commands/sync-command.js";
import { registerSystems } from "./commands/systems-command.js";
import { registerTasks } from "./commands/tasks-command.js";
import { registerToken } from "./commands/token-command.js";
import { registerValidate } from "./commands/validate-command.js";
import { registerWorker } from "./commands/worker-command.js";
import { printError } from "./output.js";

export function buildProgram(): Command {
  const program = new Command()
    .name("tenure")
    .description("Identity lifecycle automation: joiner-mover-leaver from HR, provisioning, audit")
    .version("0.1.0")
    .option("-c, --config <path>", "configuration file (env TENURE_CONFIG)", undefined)
    .option("--json", "print data as JSON for machines")
    .showHelpAfterError()
    .exitOverride();
  for (const register of [
    registerInit,
    registerValidate,
    registerCheck,
    registerSync,
    registerPlan,
    registerStatus,
    registerTasks,
    registerReconcile,
    registerSystems,
    registerExplain,
    registerIdentities,
    registerAudit,
    registerRequest,
    registerSod,
    registerReview,
    registerNhi,
    registerReport,
    registerEvidence,
    registerElevate,
    registerConsole,
    registerNotify,
    registerToken,
    registerServe,
    registerWorker,
    registerSchedule,
    registerDemo,
    registerCompletion,
  ]) {
    register(program);
  }
  for (const cmd of program.commands) {
    cmd.exitOverride();
    for (const sub of cmd.commands) sub.exitOverride();
  }
  return program;
}

/** Runs the CLI and returns the exit code: 0 ok, 1 error or invalid input, 2 usage, 3 mass-change stop. */
export async function run(argv: string[]): Promise<number> {
  process.exitCode = 0;
  try {
    await buildProgram().parseAsync(argv, { from: "user" });
    return Number(process.exitCode ?? 0);
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version end with a CommanderError too, with exit code 0.
      return err.exitCode === 0 ? 0 : 2;
    }
    // Messages quote input (a CSV header, a value): escaped, so they cannot drive the terminal.
    const stderr = { err: process.stderr };
    if (err instanceof TenureError) {
      printError(stderr, `error: ${err.message}`);
      // Each problem once: a message that lists its details already (a configuration's) is not repeated.
      if (err instanceof InvalidInputError) {
        for (const d of err.details) if (!err.message.includes(d)) printError(stderr, `  ${d}`);
      }
      return err.exitCode;
    }
    printError(stderr, `error: ${err instanceof Error ? err.message : String(err)}`);
    if (process.env.TENURE_DEBUG) process.stderr.write(`${(err as Error).stack}\n`);
    return 1;
  }
}
