import type { Command } from "commander";
import { explainAccess } from "../../workflows/provenance.js";
import { globalOptions, now, outputFor, withStore } from "../context.js";
import { dateOption } from "../date-option.js";
import { printJson, println } from "../output.js";

/** `tenure audit why`: the chain behind an access at a date, from the ledger (docs/audit.md). */
export function registerAuditWhy(audit: Command): void {
  audit
    .command("why")
    .description(
      "why an identity held an access at a date: HR record → rule (as written then) → role → grant, or request → approvals",
    )
    .requiredOption("--identity <person>", "the identity (id, HR key or email)")
    .requiredOption("--access <system:entitlement>", "the access, e.g. erp:ap-approve")
    .option("--at <date>", "the date or instant (default: now)")
    .action(async (opts: { identity: string; access: string; at?: string }, cmd: Command) => {
      const g = globalOptions(cmd);
      const o = outputFor(g);
      const at = dateOption(opts.at, "--at") ?? now();
      await withStore(g, async ({ store, config }) => {
        const answer = await explainAccess(store, config, {
          identity: opts.identity,
          access: opts.access,
          at,
        });
        if (o.json) {
          printJson(o, answer);
          return;
        }
        const who = `${answer.identity.name ?? answer.identity.id} (${answer.identity.key})`;
        println(o, `${who} ${answer.held ? "held" : "did not hold"} ${answer.access} at ${answer.at}`);
        if (answer.configHash !== null)
          println(o, `configuration in force at the grant: ${answer.configHash}`);
        for (const step of answer.steps) {
          const where = step.seq === null ? "" : ` [seq ${step.seq}, ${step.at}]`;
          println(o, `  ${step.kind}: ${step.text}${where}`);
          for (const line of step.source ?? [])
            println(o, `      ${String(line.line).padStart(4)} | ${line.text}`);
        }
      });
    });
}
