import { writeFileSync } from "node:fs";
import type { Command } from "commander";
import { scanSod } from "../../engine/sod-scan.js";
import { NotFoundError, UsageError } from "../../shared/errors.js";
import type { Store } from "../../store/database.js";
import { identityRepository } from "../../store/identity-repository.js";
import { sodViolationRepository } from "../../store/sod-repository.js";
import { acceptViolation, revokeException } from "../../workflows/sod-exceptions.js";
import {
  listExceptions,
  listRules,
  listViolations,
  REPORT_COLUMNS,
  REPORT_KINDS,
  type ReportKind,
  reportRows,
  showViolation,
  toCsv,
  type ViolationView,
} from "../../workflows/sod-reports.js";
import { actingAs, actorFor } from "../acting-as.js";
import { cliActor, globalOptions, now, outputFor, withStore } from "../context.js";
import { dateOption } from "../date-option.js";
import { type Output, printJson, println, printTable } from "../output.js";

async function identityId(store: Store, ref: string | undefined): Promise<string | undefined> {
  if (ref === undefined) return undefined;
  const found = await identityRepository.resolve(store.db, ref);
  if (found === undefined)
    throw new NotFoundError(`--identity ${ref}: no identity has this id, HR key or email`);
  return found.id;
}

function printViolation(o: Output, v: ViolationView): void {
  println(o, `violation ${v.id}: ${v.holder.name} breaks ${v.rule} (${v.severity}) — ${v.status}`);
  if (v.description !== null) println(o, `  risk: ${v.description}`);
  for (const side of v.sides) {
    println(o, `  ${side.label}`);
    for (const why of side.why) println(o, `    because ${why}`);
  }
  println(o, `  held together from ${v.heldFrom}${v.heldUntil === null ? "" : ` until ${v.heldUntil}`}`);
  println(
    o,
    `  opened ${v.openedAt}, last seen ${v.lastSeenAt}${v.closedAt === null ? "" : `, closed ${v.closedAt} (${v.closeReason})`}`,
  );
  const e = v.exception;
  if (e !== null) {
    println(
      o,
      `  accepted by ${e.approver.name} until ${e.expiresAt} (exception ${e.id}): ${e.control} — ${e.justification}`,
    );
  }
}

export function registerSod(program: Command): void {
  const sod = program
    .command("sod")
    .description("separation of duties: scan, violations with their lineage, exceptions, reports");

  sod
    .command("scan")
    .description("check everyone (or one identity) against every rule now and update the violations")
    .option("--identity <person>", "only this identity (id, HR key or email)")
    .action(async (opts: { identity?: string }, cmd: Command) => {
      const g = globalOptions(cmd);
      const o = outputFor(g);
      await withStore(g, async ({ store, config }) => {
        const id = await identityId(store, opts.identity);
        const result = await scanSod(store, config, {
          now: now(),
          actor: cliActor(),
          ...(id !== undefined ? { identityIds: [id] } : {}),
        });
        if (o.json) {
          printJson(o, {
            scan: result.scan,
            opened: result.opened,
            closed: result.closed,
            open: result.open.length,
            upcoming: result.upcoming,
          });
          return;
        }
        const s = result.scan;
        println(
          o,
          `scanned ${s.identities} identities in ${Math.round(s.durationMs)} ms: ${s.open} open (${s.bySeverity.high} high, ${s.bySeverity.medium} medium, ${s.bySeverity.low} low), ${s.opened} opened, ${s.closed} closed`,
        );
        for (const v of result.opened)
          println(o, `  opened ${v.id}: ${v.identityId} breaks ${v.rule} (${v.severity})`);
        for (const v of result.closed)
          println(o, `  closed ${v.id}: ${v.identityId} ${v.rule} (${v.closeReason})`);
        for (const v of result.upcoming) {
          println(o, `  upcoming: ${v.identityId} will break ${v.rule} (${v.severity}) from ${v.heldFrom}`);
        }
      });
    });

  sod
    .command("violations")
    .description("open violations, riskiest first")
    .option("--rule <name>", "only this rule")
    .option("--identity <person>", "only this identity (id, HR key or email)")
    .option("--severity <level>", "only high, medium or low")
    .action(async (opts: { rule?: string; identity?: string; severity?: string }, cmd: Command) => {
      const g = globalOptions(cmd);
      const o = outputFor(g);
      if (opts.severity !== undefined && !["high", "medium", "low"].includes(opts.severity)) {
        throw new UsageError(`--severity ${opts.severity}: expected high, medium or low`);
      }
      await withStore(g, async ({ store, config }) => {
        const id = await identityId(store, opts.identity);
        const list = await listViolations(
          store,
          config,
          {
            ...(id !== undefined ? { identityId: id } : {}),
            ...(opts.rule !== undefined ? { rule: opts.rule } : {}),
            ...(opts.severity !== undefined ? { severity: opts.severity } : {}),
          },
          now(),
        );
        if (o.json) {
          printJson(o, { violations: list });
          return;
        }
        printTable(
          o,
          ["ID", "HOLDER", "RULE", "SEVERITY", "STATUS", "ACCESS", "OPENED"],
          list.map((v) => [
            v.id.slice(0, 8),
            v.holder.name,
            v.rule,
            v.severity,
            v.status,
            v.sides.map((s) => s.label).join(" + "),
            v.openedAt,
          ]),
        );
      });
    });

  sod
    .command("show <violation>")
    .description("one violation: the access on each side and why it is held")
    .action(async (id: string, _opts: unknown, cmd: Command) => {
      const g = globalOptions(cmd);
      const o = outputFor(g);
      await withStore(g, async ({ store, config }) => {
        const v = await showViolation(store, config, await fullViolationId(store, id), now());
        if (v === undefined) throw new NotFoundError(`no violation has the id "${id}"`);
        if (o.json) printJson(o, v);
        else printViolation(o, v);
      });
    });

  sod
    .command("accept <violation>")
    .description(
      "accept a violation until a date, with a mitigating control (rule owner or --admin; never the holder)",
    )
    .option("--as <person>", "who approves (id, HR key or email)")
    .option("--admin", "approve as a platform admin rather than as the rule's owner")
    .option("--control <text>", "the mitigating control (default: the rule's first mitigation)")
    .requiredOption("--reason <text>", "why the conflict is accepted")
    .requiredOption("--until <date>", "when the exception expires (at most a year)")
    .action(
      async (
        id: string,
        opts: { as?: string; admin?: boolean; control?: string; reason: string; until: string },
        cmd: Command,
      ) => {
        const g = globalOptions(cmd);
        const o = outputFor(g);
        const until = dateOption(opts.until, "--until")!;
        await withStore(g, async ({ store, config }) => {
          const me = await actingAs(store, opts.as, "sod accept");
          const e = await acceptViolation(
            store,
            config,
            {
              violationId: await fullViolationId(store, id),
              approverId: me.id,
              asAdmin: opts.admin === true,
              ...(opts.control !== undefined ? { control: opts.control } : {}),
              justification: opts.reason,
              expiresAt: until,
            },
            { now: now(), actor: actorFor(me) },
          );
          if (o.json) printJson(o, { exception: e });
          else
            println(
              o,
              `exception ${e.id}: ${e.rule} accepted for ${e.identityId} until ${e.expiresAt} (control: ${e.control})`,
            );
        });
      },
    );

  sod
    .command("exceptions")
    .description("exceptions with their approvers and expiries")
    .option("--state <state>", "in-force or ended")
    .option("--identity <person>", "only this identity")
    .option("--rule <name>", "only this rule")
    .action(async (opts: { state?: string; identity?: string; rule?: string }, cmd: Command) => {
      const g = globalOptions(cmd);
      const o = outputFor(g);
      if (opts.state !== undefined && opts.state !== "in-force" && opts.state !== "ended") {
        throw new UsageError(`--state ${opts.state}: expected in-force or ended`);
      }
      await withStore(g, async ({ store }) => {
        const id = await identityId(store, opts.identity);
        const list = await listExceptions(
          store,
          {
            ...(opts.state !== undefined ? { state: opts.state as "in-force" | "ended" } : {}),
            ...(id !== undefined ? { identityId: id } : {}),
            ...(opts.rule !== undefined ? { rule: opts.rule } : {}),
          },
          now(),
        );
        if (o.json) {
          printJson(o, { exceptions: list });
          return;
        }
        printTable(
          o,
          ["ID", "HOLDER", "RULE", "STATE", "APPROVER", "EXPIRES", "CONTROL"],
          list.map((e) => [
            e.id.slice(0, 8),
            e.holder.name,
            e.rule,
            e.state,
            e.approver.name,
            e.expiresAt,
            e.control,
          ]),
        );
      });
    });

  sod
    .command("revoke <exception>")
    .description("end an exception now: the violation is open again and its owner is told")
    .option("--as <person>", "who revokes (id, HR key or email)")
    .action(async (id: string, opts: { as?: string }, cmd: Command) => {
      const g = globalOptions(cmd);
      const o = outputFor(g);
      await withStore(g, async ({ store, config }) => {
        const me = opts.as === undefined ? null : await actingAs(store, opts.as, "sod revoke");
        const e = await revokeException(store, config, id, me, { now: now(), actor: actorFor(me) });
        if (o.json) printJson(o, { exception: e });
        else println(o, `exception ${e.id} revoked at ${e.revokedAt}`);
      });
    });

  sod
    .command("rules")
    .description("the rule set, with open violations per rule")
    .action(async (_opts: unknown, cmd: Command) => {
      const g = globalOptions(cmd);
      const o = outputFor(g);
      await withStore(g, async ({ store, config }) => {
        const rules = await listRules(store, config);
        if (o.json) {
          printJson(o, { rules });
          return;
        }
        printTable(
          o,
          ["RULE", "SEVERITY", "OWNER", "OPEN", "CONFLICT", "AT"],
          rules.map((r) => [
            r.name,
            r.severity,
            r.owner,
            r.openViolations,
            r.kind === "pair"
              ? `${r.sideA.join(", ")} ✕ ${r.sideB.join(", ")}`
              : `at most ${r.max} of ${r.sideA.join(", ")}`,
            r.location,
          ]),
        );
      });
    });

  sod
    .command("report <kind>")
    .description(`an auditor's report as CSV (default) or JSON: ${REPORT_KINDS.join(", ")}`)
    .option("--from <date>", "history: from this date (default: 30 days before --to)")
    .option("--to <date>", "history: until this date (default: now)")
    .option("--format <format>", "csv or json", "csv")
    .option("--output <file>", "write to this file rather than standard output")
    .action(
      async (
        kind: string,
        opts: { from?: string; to?: string; format: string; output?: string },
        cmd: Command,
      ) => {
        const g = globalOptions(cmd);
        const o = outputFor(g);
        if (!(REPORT_KINDS as readonly string[]).includes(kind)) {
          throw new UsageError(`report ${kind}: expected one of ${REPORT_KINDS.join(", ")}`);
        }
        const json = g.json === true || opts.format === "json";
        if (!json && opts.format !== "csv")
          throw new UsageError(`--format ${opts.format}: expected csv or json`);
        const from = dateOption(opts.from, "--from");
        const to = dateOption(opts.to, "--to");
        await withStore(g, async ({ store, config }) => {
          const rows = await reportRows(store, config, kind as ReportKind, {
            now: now(),
            ...(from !== undefined ? { from } : {}),
            ...(to !== undefined ? { to } : {}),
          });
          const text = json
            ? `${JSON.stringify({ report: kind, rows }, null, 2)}\n`
            : toCsv(rows, REPORT_COLUMNS[kind as ReportKind]);
          if (opts.output !== undefined) {
            writeFileSync(opts.output, text);
            if (!json) println(o, `${rows.length} row(s) written to ${opts.output}`);
          } else {
            o.out.write(text);
          }
        });
      },
    );
}

/** A violation id, or a unique prefix of one (as the listing shows them). */
async function fullViolationId(store: Store, ref: string): Promise<string> {
  if (ref.length >= 36) return ref;
  const rows = await sodViolationRepository.idsStartingWith(store.db, ref, 2);
  if (rows.length === 1) return rows[0]!;
  if (rows.length === 0) throw new NotFoundError(`no violation has an id starting "${ref}"`);
  throw new UsageError(`${ref}: more than one violation starts so; give more of the id`);
}
