import type { Command } from "commander";
import { type AuditEvent, queryEvents, verifyLedger } from "../../audit/ledger.js";
import { NotFoundError, UsageError } from "../../shared/errors.js";
import { identityRepository } from "../../store/identity-repository.js";
import { globalOptions, outputFor, withStore } from "../context.js";
import { printError, printJson, println } from "../output.js";
import { createProgress } from "../progress.js";

/** One line saying what an event changed, for timelines: in words, the JSON stays behind --json. */
export function describeEvent(e: Pick<AuditEvent, "action" | "details">): string {
  const d = e.details as Record<string, unknown>;
  switch (e.action) {
    case "identity.created":
      return `created as ${String(d.state)} (${String(d.reason)})`;
    case "identity.state_changed":
    case "identity.rehired":
      return `${String(d.from)} → ${String(d.to)} (${String(d.reason)})`;
    case "identity.updated":
      return Object.entries((d.changes ?? {}) as Record<string, { before: unknown; after: unknown }>)
        .map(([k, c]) => `${k}: ${JSON.stringify(c.before)} → ${JSON.stringify(c.after)}`)
        .join(", ");
    case "identity.rekeyed":
      return `key ${String(d.before)} → ${String(d.after)}`;
    case "operation.succeeded":
      return `${operationWhat(d)}: succeeded${d.changed === false ? " (already so)" : ""}${attempt(d)}`;
    case "operation.failed":
      return `${operationWhat(d)}: failed${attempt(d)}, retried at ${String(d.nextAttemptAt)}: ${String(d.error)}`;
    case "operation.dead":
      return `${operationWhat(d)}: DEAD${attempt(d)} (${String(d.why)}): ${String(d.error)}`;
    case "operation.awaiting":
      return `${operationWhat(d)}: handed to ${String(d.fulfiller)} as task ${String(d.taskId)}, due ${String(d.dueAt)}`;
    default:
      return summary(d);
  }
}

/** "grant editors to jdoe on wiki", "create account jdoe on wiki". */
function operationWhat(d: Record<string, unknown>): string {
  const target =
    typeof d.entitlement === "string"
      ? `${d.entitlement} to ${String(d.username)}`
      : `account ${String(d.username)}`;
  const verb =
    d.kind === "revoke" && typeof d.entitlement === "string"
      ? `revoke ${d.entitlement} from ${String(d.username)}`
      : `${String(d.kind)} ${target}`;
  return `${verb} on ${String(d.system)}`;
}

function attempt(d: Record<string, unknown>): string {
  return typeof d.attempts === "number" ? ` (attempt ${d.attempts})` : "";
}

/** Any other event's details as `key=value` pairs, short values in full and long ones cut. */
function summary(d: Record<string, unknown>): string {
  const pairs = Object.entries(d)
    .filter(([, v]) => v !== null && v !== undefined)
    .map(([k, v]) => {
      const text = typeof v === "string" ? v : JSON.stringify(v);
      return `${k}=${text.length > 60 ? `${text.slice(0, 57)}…` : text}`;
    });
  const line = pairs.join(" ");
  return line.length > 240 ? `${line.slice(0, 239)}…` : line;
}

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
      "recompute the hash chain and name the first event that was edited, deleted, inserted or reordered",
    )
    .action(async (_opts, cmd: Command) => {
      const g = globalOptions(cmd);
      const o = outputFor(g);
      const progress = createProgress(!o.json, "verify");
      const result = await withStore(g, ({ store }) =>
        verifyLedger(store.db, { onProgress: (done, total) => progress.update(done, total) }),
      );
      progress.stop();
      if (o.json) printJson(o, result);
      else if (result.ok) println(o, `ledger intact: ${result.checked} events verified`);
      else printError(o, `ledger BROKEN at event ${result.firstBadSeq}: ${result.problem}`);
      if (!result.ok) process.exitCode = 1;
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
          let subject: string | undefined;
          if (opts.identity !== undefined) {
            const identity = await identityRepository.resolve(store.db, opts.identity);
            if (identity === undefined) throw new NotFoundError(`no identity matches "${opts.identity}"`);
            subject = identity.id;
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
                found.map((e) => e.subject),
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
            `${String(e.seq).padStart(6)}  ${e.time}  ${e.actor}  ${e.action}  ${names.get(e.subject) ?? e.subject}  ${describeEvent(e)}`,
          );
        }
        println(o, `${events.length} event${events.length === 1 ? "" : "s"}`);
      },
    );
}
