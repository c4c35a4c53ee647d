import type { Command } from "commander";
import { describeEvent } from "../../audit/event-summary.js";
import { identitySubjects, queryEvents, verifyLedger } from "../../audit/ledger.js";
import { NotFoundError, UsageError } from "../../shared/errors.js";
import { identityRepository } from "../../store/identity-repository.js";
import { verifyPublishedHeads } from "../../workflows/ledger-proof.js";
import { globalOptions, outputFor, withStore } from "../context.js";
import { printError, printJson, println } from "../output.js";
import { createProgress } from "../progress.js";
import { registerAuditHistory } from "./audit-history-command.js";
import { collectValues, printHeads, registerAuditProof } from "./audit-proof-command.js";
import { registerAuditWhy } from "./audit-why-command.js";

function parseSince(value: string): string {
  const t = Date.parse(value);
  if (Number.isNaN(t)) throw new UsageError(`--since "${value}" is not a date or ISO-8601 date-time`);
  return new Date(t).toISOString();
}

export function registerAudit(program: Command): void {
  const audit = program.command("audit").description("the tamper-evident audit ledger");

  audit
    .command("verify")
    .description(
      "recompute the hash chain and name the first event that was edited, deleted, inserted or reordered; " +
        "check every published head against it (a replaced database fails)",
    )
    .option(
      "--heads <file>",
      "also check the signed heads in this file (the file sink's JSON Lines); repeatable",
      collectValues,
    )
    .option(
      "--public-key <file>",
      "check head signatures with this public key PEM too (e.g. an earlier key); repeatable",
      collectValues,
    )
    .action(async (opts: { heads?: string[]; publicKey?: string[] }, cmd: Command) => {
      const g = globalOptions(cmd);
      const o = outputFor(g);
      const progress = createProgress(!o.json, "verify");
      const { result, heads } = await withStore(g, async ({ config, store }) => {
        const result = await verifyLedger(store.db, {
          onProgress: (done, total) => progress.update(done, total),
        });
        progress.stop();
        return { result, heads: await verifyPublishedHeads(store.db, config, opts) };
      }).finally(() => progress.stop());
      const ok = result.ok && heads.ok;
      if (o.json) printJson(o, { ...result, ok, chainOk: result.ok, heads });
      else {
        const from =
          result.from === undefined ? "" : ` (from the archive cut after event ${result.from.seq})`;
        if (result.ok) println(o, `ledger intact: ${result.checked} events verified${from}`);
        else printError(o, `ledger BROKEN at event ${result.firstBadSeq}: ${result.problem}`);
        printHeads(o, heads);
      }
      if (!ok) process.exitCode = 1;
    });

  audit
    .command("log")
    .description("print the timeline of audit events")
    .option("--identity <ref>", "only events about this identity (id, HR key or email)")
    .option("--since <time>", "only events at or after this date / ISO-8601 time", parseSince)
    .option("--action <action>", "only this action, e.g. identity.state_changed")
    .option("--limit <n>", "at most this many events", (v) => Number.parseInt(v, 10), 1000)
    .action(
      async (opts: { identity?: string; since?: string; action?: string; limit: number }, cmd: Command) => {
        if (!(opts.limit > 0)) throw new UsageError("--limit takes a positive whole number");
        const g = globalOptions(cmd);
        const o = outputFor(g);
        const { events, names } = await withStore(g, async ({ store }) => {
          let subject: string[] | undefined;
          if (opts.identity !== undefined) {
            const identity = await identityRepository.resolve(store.db, opts.identity);
            if (identity === undefined) throw new NotFoundError(`no identity matches "${opts.identity}"`);
            subject = identitySubjects(identity.id);
          }
          const found = await queryEvents(store.db, {
            ...(subject !== undefined ? { subject } : {}),
            ...(opts.since !== undefined ? { since: opts.since } : {}),
            ...(opts.action !== undefined ? { action: opts.action } : {}),
            limit: opts.limit,
          });
          // Identities are named by HR key and name, read in one go for the whole page.
          const identities = o.json
            ? new Map()
            : await identityRepository.findByIds(
                store.db,
                found.map((e) => e.subject.replace(/^identity:/, "")),
              );
          const names = new Map<string, string>(
            [...identities.values()].map((i) => [i.id, `${i.sourceKey} ${i.attributes.displayName}`]),
          );
          return { events: found, names };
        });
        if (o.json) {
          printJson(o, { events });
          return;
        }
        for (const e of events) {
          println(
            o,
            `${String(e.seq).padStart(6)}  ${e.time}  ${e.actor}  ${e.action}  ${names.get(e.subject.replace(/^identity:/, "")) ?? e.subject}  ${describeEvent(e)}`,
          );
        }
        println(o, `${events.length} event${events.length === 1 ? "" : "s"}`);
      },
    );
  registerAuditProof(audit);
  registerAuditWhy(audit);
  registerAuditHistory(audit);
}
