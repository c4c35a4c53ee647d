import type { Command } from "commander";
import { checkSystems, type SystemCheck } from "../../engine/system-check.js";
import { loadConfig } from "../../policy/config-loader.js";
import type { TenureConfig } from "../../policy/config-types.js";
import { closestMatch } from "../../shared/did-you-mean.js";
import { UsageError } from "../../shared/errors.js";
import { configPath, globalOptions, outputFor } from "../context.js";
import { EXIT } from "../exit-codes.js";
import { type Output, printJson, printTable } from "../output.js";

/** The systems `name` selects (all when absent), or a usage error proposing the nearest name. */
function selected(config: TenureConfig, name: string | undefined): string[] {
  const all = Object.keys(config.policy.systems);
  if (name === undefined) return all;
  if (all.includes(name)) return [name];
  const near = closestMatch(name, all);
  throw new UsageError(
    `no system named "${name}"${near !== undefined ? ` — did you mean "${near}"?` : all.length > 0 ? ` (systems: ${all.join(", ")})` : ""}`,
  );
}

/** Prints the checks and returns the exit code: 0 when every system answered, 1 otherwise. */
export function printChecks(o: Output, checks: readonly SystemCheck[]): number {
  if (o.json) printJson(o, { systems: checks });
  else
    printTable(
      o,
      ["SYSTEM", "CONNECTOR", "RESULT", "DETAIL"],
      checks.map((c) => [c.system, c.connector, c.result, c.detail]),
    );
  return checks.some((c) => c.result === "failed") ? EXIT.error : EXIT.ok;
}

export async function runSystemChecks(o: Output, config: TenureConfig, name?: string): Promise<number> {
  return printChecks(o, await checkSystems(config, selected(config, name)));
}

export function registerSystems(program: Command): void {
  const systems = program.command("systems").description("the connected systems");
  systems
    .command("test [name]")
    .description(
      "connect to each system (or NAME) with its credentials and read from it, changing nothing: reachable, authenticated, allowed to read",
    )
    .action(async (name: string | undefined, _opts, cmd: Command) => {
      const g = globalOptions(cmd);
      const o = outputFor(g);
      const config = await loadConfig(configPath(g));
      process.exitCode = await runSystemChecks(o, config, name);
    });
}
