import type { Command } from "commander";
import { takeAccessCheckpoint } from "../../audit/access-checkpoints.js";
import { type AccessRow, accessAt, whoHad } from "../../audit/access-history.js";
import type { ReplaySource } from "../../audit/point-in-time.js";
import { NotFoundError } from "../../shared/errors.js";
import { cliActor, globalOptions, now, outputFor, withStore } from "../context.js";
import { dateOption } from "../date-option.js";
import { type Output, printJson, println, printTable } from "../output.js";

/**
 * `tenure audit who-had`, `tenure audit access` and `tenure audit checkpoint`: access at any instant,
 * replayed from the ledger (docs/audit.md#point-in-time).
 */
export function registerAuditHistory(audit: Command): void {
  audit
    .command("who-had")
    .description(
      "who had an access (or any access) of a system at an instant: confirmed in the target, and desired",
    )
    .requiredOption("--system <name>", "the system")
    .option("--entitlement <key>", "only this entitlement (default: the accounts and every entitlement)")
    .option("--at <date>", "the date or instant (default: now)")
    .action(async (opts: { system: string; entitlement?: string; at?: string }, cmd: Command) => {
      const g = globalOptions(cmd);
      const o = outputFor(g);
      const at = dateOption(opts.at, "--at") ?? now();
      await withStore(g, async ({ store, config }) => {
        const answer = await whoHad(store.db, {
          system: opts.system,
          ...(opts.entitlement === undefined ? {} : { entitlement: opts.entitlement }),
          at,
        });
        if (answer.rows.length === 0 && config.policy.systems[opts.system] === undefined)
          throw new NotFoundError(`no system named ${opts.system} is configured or recorded in the ledger`);
        if (o.json) {
          printJson(o, answer);
          return;
        }
        const what = opts.entitlement === undefined ? opts.system : `${opts.system}:${opts.entitlement}`;
        println(o, `${what} at ${answer.at} ${replayNote(answer.source)}`);
        const who = (id: string | null) =>
          id === null ? "(nobody: orphan)" : (answer.identities[id]?.key ?? id);
        printRows(o, answer.rows, { header: "IDENTITY", cell: (r) => who(r.identityId) });
      });
    });

  audit
    .command("access")
    .description("every access an identity held, and was meant to hold, at an instant")
    .requiredOption("--identity <person>", "the identity: id, HR key (as it was then) or email")
    .option("--at <date>", "the date or instant (default: now)")
    .action(async (opts: { identity: string; at?: string }, cmd: Command) => {
      const g = globalOptions(cmd);
      const o = outputFor(g);
      const at = dateOption(opts.at, "--at") ?? now();
      await withStore(g, async ({ store }) => {
        const answer = await accessAt(store.db, { identity: opts.identity, at });
        if (o.json) {
          printJson(o, answer);
          return;
        }
        const i = answer.identity;
        println(
          o,
          `${i.name ?? i.id} (${i.key}) at ${answer.at}: ${i.state ?? "not yet known"}, employment ${i.employment} ${replayNote(answer.source)}`,
        );
        // After a rehire, what was held since an earlier employment says so: it is not the new one's.
        printRows(o, answer.rows, {
          header: "SYSTEM",
          cell: (r) =>
            r.employment !== null && r.employment !== i.employment
              ? `${r.system} (employment ${r.employment})`
              : r.system,
        });
        const inForce = answer.assignments.filter((a) => a.inForce);
        if (inForce.length > 0) {
          println(o, "assignments in force:");
          for (const a of inForce) {
            const target =
              "role" in a.target ? `role ${a.target.role}` : `${a.target.system}:${a.target.entitlement}`;
            println(
              o,
              `  ${a.id} ${target} from ${a.validFrom}${a.validUntil === null ? "" : ` until ${a.validUntil}`}`,
            );
          }
        }
      });
    });

  audit
    .command("checkpoint")
    .description(
      "record the access state at the ledger's head, so point-in-time questions replay only what follows",
    )
    .action(async (_opts: unknown, cmd: Command) => {
      const g = globalOptions(cmd);
      const o = outputFor(g);
      await withStore(g, async ({ store }) => {
        const result = await takeAccessCheckpoint(store.db, { now: now(), actor: cliActor() });
        if (o.json) {
          printJson(o, result);
          return;
        }
        println(
          o,
          `access checkpoint at event ${result.seq} (events up to ${result.coversUntil}): ${result.accounts} accounts in ${result.systems} systems, ${result.replayed} events replayed`,
        );
        if (result.caughtUp > 0)
          println(
            o,
            `${result.caughtUp} accounts the journal had not recorded were journalled first (cause: checkpoint)`,
          );
      });
    });
}

function replayNote(source: ReplaySource): string {
  const from =
    source.checkpointSeq === null ? "the first event" : `the checkpoint at event ${source.checkpointSeq}`;
  return `(replayed from ${from}, ${source.events} events)`;
}

function printRows<R extends AccessRow>(
  o: Output,
  rows: readonly R[],
  first: { header: string; cell: (r: R) => string },
): void {
  if (rows.length === 0) {
    println(o, "nothing held or desired");
    return;
  }
  printTable(
    o,
    [first.header, "USERNAME", "ENTITLEMENT", "CONFIRMED", "DESIRED"],
    rows.map((r) => [
      first.cell(r),
      r.username ?? "(no account)",
      r.entitlement ?? "(account)",
      r.confirmed.held
        ? `yes since ${r.confirmed.since}${r.confirmed.enabled === false ? " (disabled)" : ""}`
        : "no",
      `${r.desired.wanted ? "yes" : "no"}: ${r.desired.why}`,
    ]),
  );
}
