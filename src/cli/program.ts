import { Command, CommanderError } from "commander";
import { InvalidInputError, TenureError } from "../shared/errors.js";
import { printError } from "./output.js";

type Register = (program: Command) => void;

/**
 * Every top-level command, in the order `tenure --help` lists them: the names a registration adds and
 * where it is. A command line naming one loads that one only — a command module imports its whole
 * implementation (the store drivers, the engine, the HTTP server), and loading all of them made every
 * start, `tenure validate` as much as `tenure serve`, take about 2 s. Help, an unknown name and
 * `completion` (which walks the whole tree) load them all. program.test.ts checks the names against
 * what each registration adds.
 */
export const COMMANDS: readonly { names: readonly string[]; load: () => Promise<Register> }[] = [
  { names: ["init"], load: async () => (await import("./commands/init-command.js")).registerInit },
  {
    names: ["validate"],
    load: async () => (await import("./commands/validate-command.js")).registerValidate,
  },
  { names: ["check"], load: async () => (await import("./commands/check-command.js")).registerCheck },
  { names: ["sync"], load: async () => (await import("./commands/sync-command.js")).registerSync },
  { names: ["plan"], load: async () => (await import("./commands/plan-command.js")).registerPlan },
  {
    names: ["status", "operations", "apply"],
    load: async () => (await import("./commands/status-command.js")).registerStatus,
  },
  { names: ["tasks"], load: async () => (await import("./commands/tasks-command.js")).registerTasks },
  {
    names: ["reconcile"],
    load: async () => (await import("./commands/reconcile-command.js")).registerReconcile,
  },
  { names: ["systems"], load: async () => (await import("./commands/systems-command.js")).registerSystems },
  { names: ["explain"], load: async () => (await import("./commands/explain-command.js")).registerExplain },
  {
    names: ["identities"],
    load: async () => (await import("./commands/identities-command.js")).registerIdentities,
  },
  { names: ["audit"], load: async () => (await import("./commands/audit-command.js")).registerAudit },
  { names: ["request"], load: async () => (await import("./commands/request-command.js")).registerRequest },
  { names: ["sod"], load: async () => (await import("./commands/sod-command.js")).registerSod },
  { names: ["review"], load: async () => (await import("./commands/review-command.js")).registerReview },
  { names: ["nhi"], load: async () => (await import("./commands/nhi-command.js")).registerNhi },
  { names: ["report"], load: async () => (await import("./commands/report-command.js")).registerReport },
  {
    names: ["evidence"],
    load: async () => (await import("./commands/evidence-command.js")).registerEvidence,
  },
  { names: ["elevate"], load: async () => (await import("./commands/request-command.js")).registerElevate },
  { names: ["console"], load: async () => (await import("./commands/console-command.js")).registerConsole },
  { names: ["notify"], load: async () => (await import("./commands/notify-command.js")).registerNotify },
  { names: ["token"], load: async () => (await import("./commands/token-command.js")).registerToken },
  { names: ["serve"], load: async () => (await import("./commands/serve-command.js")).registerServe },
  { names: ["worker"], load: async () => (await import("./commands/worker-command.js")).registerWorker },
  {
    names: ["schedule"],
    load: async () => (await import("./commands/schedule-command.js")).registerSchedule,
  },
  { names: ["demo"], load: async () => (await import("./commands/demo-command.js")).registerDemo },
  {
    names: ["completion"],
    load: async () => (await import("./commands/completion-command.js")).registerCompletion,
  },
];

/** The command a command line names: its first word that is not an option (nor `--config`'s value). */
export function commandNameOf(argv: readonly string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i]!;
    if (word === "--") return argv[i + 1];
    if (word === "-c" || word === "--config") i++;
    else if (!word.startsWith("-")) return word;
  }
  return undefined;
}

/** The program with every command, or with only the command `name` when it is one (and not `completion`). */
export async function buildProgram(name?: string): Promise<Command> {
  const program = new Command()
    .name("tenure")
    .description("Identity lifecycle automation: joiner-mover-leaver from HR, provisioning, audit")
    .version("0.1.0")
    .option("-c, --config <path>", "configuration file (env TENURE_CONFIG)", undefined)
    .option("--json", "print data as JSON for machines")
    .showHelpAfterError()
    .exitOverride();
  const one = COMMANDS.find((c) => name !== "completion" && name !== undefined && c.names.includes(name));
  const registrations = await Promise.all((one === undefined ? COMMANDS : [one]).map((c) => c.load()));
  for (const register of registrations) register(program);
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
    await (await buildProgram(commandNameOf(argv))).parseAsync(argv, { from: "user" });
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
