import type { Command } from "commander";
import { DURATION_FORMS, formatDuration, parseDuration } from "../../domain/duration.js";
import type { AccessRequest, RequestItem } from "../../domain/request-types.js";
import { NotFoundError, UsageError } from "../../shared/errors.js";
import { accessRequestRepository } from "../../store/access-request-repository.js";
import type { Store } from "../../store/database.js";
import { identityRepository } from "../../store/identity-repository.js";
import { accessPass } from "../../workflows/access-timer.js";
import { createDelegation } from "../../workflows/delegations.js";
import type { CarriedOut } from "../../workflows/request-effects.js";
import { decide } from "../../workflows/request-effects.js";
import { revokeRequestAccess } from "../../workflows/request-revocation.js";
import { submitRequest } from "../../workflows/request-submission.js";
import { type RequestView, viewRequests } from "../../workflows/request-view.js";
import { actingAs, actorFor } from "../acting-as.js";
import { cliActor, globalOptions, now, outputFor, withStore } from "../context.js";
import { dateOption } from "../date-option.js";
import { type Output, printJson, println, printTable } from "../output.js";

function parseFor(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = parseDuration(value);
  if (ms === undefined) throw new UsageError(`--for ${value}: expected ${DURATION_FORMS}`);
  return ms;
}

function parseItems(roles: readonly string[], entitlements: readonly string[]): RequestItem[] {
  const items: RequestItem[] = roles.map((role) => ({ kind: "role", role }));
  for (const e of entitlements) {
    const colon = e.indexOf(":");
    if (colon <= 0 || colon === e.length - 1) {
      throw new UsageError(`--entitlement ${e}: expected SYSTEM:KEY, e.g. db:readers`);
    }
    items.push({ kind: "entitlement", system: e.slice(0, colon), entitlement: e.slice(colon + 1) });
  }
  if (items.length === 0)
    throw new UsageError("say what is asked for: --role NAME or --entitlement SYSTEM:KEY");
  return items;
}

const collect = (value: string, previous: string[]) => [...previous, value];

function itemText(items: RequestView["items"]): string {
  return items.map((i) => (i.kind === "role" ? `role ${i.role}` : `${i.system}:${i.entitlement}`)).join(", ");
}

function printView(o: Output, v: RequestView): void {
  println(o, `request ${v.id} (${v.kind}): ${v.state}${v.autoApproved ? " (auto-approved)" : ""}`);
  println(o, `  for ${v.beneficiary.name}, asked by ${v.requester.name} at ${v.submittedAt}`);
  println(o, `  items: ${itemText(v.items)} for ${formatDuration(v.durationMs)}`);
  println(o, `  why: ${v.justification}${v.ticket === null ? "" : ` (ticket ${v.ticket})`}`);
  v.steps.forEach((s, i) => {
    const mark = v.state === "pending" && i === v.currentStep ? " ← waiting" : "";
    println(
      o,
      `  step ${i + 1} ${s.name}: ${s.approvedBy.length}/${s.required} of ${s.approvers.map((a) => a.name).join(", ")}${mark}`,
    );
  });
  for (const d of v.decisions) {
    println(o, `  ${d.at} ${d.by.name} ${d.verdict}d step ${d.step + 1}${d.comment ? `: ${d.comment}` : ""}`);
  }
  for (const g of v.grants) {
    const end =
      g.endedAt !== null ? `ended ${g.endedAt}` : g.revokedAt !== null ? `revoked ${g.revokedAt}` : "";
    println(o, `  granted ${g.target} from ${g.validFrom} until ${g.validUntil ?? "—"} ${end}`.trimEnd());
  }
  if (v.state === "pending") println(o, `  expires undecided at ${v.expiresAt}`);
}

async function printOutcome(o: Output, store: Store, outcome: CarriedOut): Promise<void> {
  const [view] = await viewRequests(store, [outcome.request], { withGrants: true });
  if (o.json) {
    printJson(o, { request: view, provisioning: outcome.provisioning });
    return;
  }
  printView(o, view!);
  const p = outcome.provisioning;
  if (p !== null) {
    println(
      o,
      p.error !== null
        ? `  provisioning did not run now: ${p.error} (the grant stands; the next run applies it)`
        : `  provisioned: ${p.queued} operation(s) queued, ${p.succeeded} succeeded, ${p.failed} failed`,
    );
  }
}

export function registerRequest(program: Command): void {
  const request = program
    .command("request")
    .description("access requests: ask for a requestable role or entitlement, decide, revoke");

  request
    .command("create")
    .description("ask for access for yourself (--as) or a direct report (--beneficiary)")
    .option("--as <person>", "who is asking (id, HR key or email)")
    .option("--beneficiary <person>", "a direct report to ask for (default: yourself)")
    .option("--role <name>", "a requestable role (repeatable)", collect, [])
    .option("--entitlement <system:key>", "a requestable entitlement (repeatable)", collect, [])
    .option("--for <duration>", "how long, from the grant: 8h, 7d (default: the item's defaultDuration)")
    .requiredOption("--reason <text>", "why the access is needed (required)")
    .option("--ticket <id>", "a ticket reference")
    .action(
      async (
        opts: {
          as?: string;
          beneficiary?: string;
          role: string[];
          entitlement: string[];
          for?: string;
          reason: string;
          ticket?: string;
        },
        cmd: Command,
      ) => {
        const g = globalOptions(cmd);
        const o = outputFor(g);
        await withStore(g, async ({ store, config }) => {
          const me = await actingAs(store, opts.as, "request create");
          const beneficiary =
            opts.beneficiary === undefined
              ? me
              : await identityRepository.resolve(store.db, opts.beneficiary);
          if (beneficiary === undefined)
            throw new NotFoundError(`--beneficiary ${opts.beneficiary}: no such identity`);
          const durationMs = parseFor(opts.for);
          const outcome = await submitRequest(
            store,
            config,
            {
              requesterId: me.id,
              beneficiaryId: beneficiary.id,
              items: parseItems(opts.role, opts.entitlement),
              justification: opts.reason,
              ticket: opts.ticket ?? null,
              ...(durationMs !== undefined ? { durationMs } : {}),
            },
            { now: now(), actor: actorFor(me) },
          );
          await printOutcome(o, store, outcome);
        });
      },
    );

  request
    .command("list")
    .description("requests: yours (--as), those waiting for you (--waiting), or all (--all)")
    .option("--as <person>", "whose requests (id, HR key or email)")
    .option("--waiting", "those waiting for a decision of --as")
    .option("--all", "every request (an operator's view)")
    .option("--state <state>", "only in this state: pending, approved, denied, cancelled, expired")
    .option("--limit <n>", "at most this many", "100")
    .action(
      async (
        opts: { as?: string; waiting?: boolean; all?: boolean; state?: string; limit: string },
        cmd: Command,
      ) => {
        const g = globalOptions(cmd);
        const o = outputFor(g);
        const limit = Number(opts.limit);
        if (!Number.isInteger(limit) || limit < 1 || limit > 10_000)
          throw new UsageError("--limit: a whole number from 1 to 10000");
        await withStore(g, async ({ store }) => {
          let requests: AccessRequest[];
          if (opts.all) {
            requests = await accessRequestRepository.list(store.db, {
              limit,
              ...(opts.state ? { state: opts.state } : {}),
            });
          } else {
            const me = await actingAs(store, opts.as, "request list (without --all)");
            requests = opts.waiting
              ? await accessRequestRepository.pendingFor(store.db, me.id, { limit })
              : await accessRequestRepository.list(store.db, {
                  identityId: me.id,
                  limit,
                  ...(opts.state ? { state: opts.state } : {}),
                });
          }
          const views = await viewRequests(store, requests);
          if (o.json) {
            printJson(o, { requests: views });
            return;
          }
          printTable(
            o,
            ["ID", "STATE", "FOR", "ITEMS", "DURATION", "SUBMITTED", "WAITING ON"],
            views.map((v) => [
              v.id,
              v.state,
              v.beneficiary.name,
              itemText(v.items),
              formatDuration(v.durationMs),
              v.submittedAt,
              v.state === "pending" ? (v.steps[v.currentStep]?.name ?? "") : "",
            ]),
          );
        });
      },
    );

  request
    .command("show <id>")
    .description("one request: its steps, decisions and the access it granted")
    .action(async (id: string, _opts: unknown, cmd: Command) => {
      const g = globalOptions(cmd);
      const o = outputFor(g);
      await withStore(g, async ({ store }) => {
        const found = await accessRequestRepository.find(store.db, id);
        if (found === undefined) throw new NotFoundError(`no access request has the id "${id}"`);
        const [view] = await viewRequests(store, [found], { withGrants: true });
        if (o.json) printJson(o, { request: view });
        else printView(o, view!);
      });
    });

  for (const verdict of ["approve", "deny"] as const) {
    request
      .command(`${verdict} <id>`)
      .description(`${verdict} a request waiting for you (--as)`)
      .option("--as <person>", "who decides (id, HR key or email)")
      .option("--comment <text>", "a comment for the requester")
      .action(async (id: string, opts: { as?: string; comment?: string }, cmd: Command) => {
        const g = globalOptions(cmd);
        const o = outputFor(g);
        await withStore(g, async ({ store, config }) => {
          const me = await actingAs(store, opts.as, `request ${verdict}`);
          const outcome = await decide(
            store,
            config,
            id,
            { kind: verdict, by: me.id, comment: opts.comment ?? null },
            { now: now(), actor: actorFor(me) },
          );
          await printOutcome(o, store, outcome);
        });
      });
  }

  request
    .command("cancel <id>")
    .description("withdraw a pending request: its requester or beneficiary (--as), or an operator (--admin)")
    .option("--as <person>", "who cancels (id, HR key or email)")
    .option("--admin", "cancel as an operator, not as a person")
    .action(async (id: string, opts: { as?: string; admin?: boolean }, cmd: Command) => {
      const g = globalOptions(cmd);
      const o = outputFor(g);
      await withStore(g, async ({ store, config }) => {
        const me = opts.admin ? null : await actingAs(store, opts.as, "request cancel (without --admin)");
        const outcome = await decide(
          store,
          config,
          id,
          { kind: "cancel", by: me?.id ?? cliActor(), asAdmin: opts.admin === true },
          { now: now(), actor: actorFor(me) },
        );
        await printOutcome(o, store, outcome);
      });
    });

  request
    .command("revoke <id>")
    .description(
      "end the access a request granted now: its holder or an approver (--as), or an operator (--admin)",
    )
    .option("--as <person>", "who revokes (id, HR key or email)")
    .option("--admin", "revoke as an operator")
    .option("--reason <text>", "why, for the ledger")
    .action(async (id: string, opts: { as?: string; admin?: boolean; reason?: string }, cmd: Command) => {
      const g = globalOptions(cmd);
      const o = outputFor(g);
      await withStore(g, async ({ store, config }) => {
        const me = opts.admin ? null : await actingAs(store, opts.as, "request revoke (without --admin)");
        const ended = await revokeRequestAccess(store, config, id, {
          by: me?.id ?? null,
          asAdmin: opts.admin === true,
          now: now(),
          actor: actorFor(me),
          ...(opts.reason ? { reason: opts.reason } : {}),
        });
        if (o.json) {
          printJson(o, ended);
          return;
        }
        for (const e of [...ended.confirmed, ...ended.unconfirmed]) {
          const checks = e.receipt.checks.map(
            (c) => `${c.system}${c.entitlement ? `:${c.entitlement}` : ""} ${c.outcome}`,
          );
          println(o, `revoked ${e.assignment.id}: ${checks.join(", ") || "nothing held"}`);
        }
        if (ended.unconfirmed.length > 0) {
          println(
            o,
            `${ended.unconfirmed.length} end(s) not confirmed by the target yet: alerted, and tried again`,
          );
        }
      });
    });

  request
    .command("extend <id>")
    .description(
      "prolong running access before it ends, approved by the same steps (the same assignment: no gap)",
    )
    .option("--as <person>", "who asks (id, HR key or email)")
    .requiredOption("--for <duration>", "how much longer: 2h, 3d")
    .requiredOption("--reason <text>", "why it is still needed")
    .option("--ticket <id>", "a ticket reference")
    .action(
      async (
        id: string,
        opts: { as?: string; for: string; reason: string; ticket?: string },
        cmd: Command,
      ) => {
        const g = globalOptions(cmd);
        const o = outputFor(g);
        await withStore(g, async ({ store, config }) => {
          const me = await actingAs(store, opts.as, "request extend");
          const original = await accessRequestRepository.find(store.db, id);
          if (original === undefined) throw new NotFoundError(`no access request has the id "${id}"`);
          const outcome = await submitRequest(
            store,
            config,
            {
              requesterId: me.id,
              beneficiaryId: original.beneficiaryId,
              items: original.items,
              justification: opts.reason,
              ticket: opts.ticket ?? null,
              durationMs: parseFor(opts.for)!,
              kind: "extension",
              extendsRequest: original.id,
            },
            { now: now(), actor: actorFor(me) },
          );
          await printOutcome(o, store, outcome);
        });
      },
    );

  request
    .command("delegate")
    .description("hand your approval decisions to someone else while you are away (--as you, --to them)")
    .option("--as <person>", "who is away (id, HR key or email)")
    .requiredOption("--to <person>", "who decides instead (id, HR key or email)")
    .option("--from <date>", "when it starts (ISO-8601; default now)")
    .requiredOption("--until <date>", "when it ends (ISO-8601)")
    .action(async (opts: { as?: string; to: string; from?: string; until: string }, cmd: Command) => {
      const g = globalOptions(cmd);
      const o = outputFor(g);
      await withStore(g, async ({ store }) => {
        const me = await actingAs(store, opts.as, "request delegate");
        const to = await identityRepository.resolve(store.db, opts.to);
        if (to === undefined)
          throw new NotFoundError(`--to ${opts.to}: no identity has this id, HR key or email`);
        const at = now();
        const delegation = await createDelegation(
          store,
          {
            delegatorId: me.id,
            delegateId: to.id,
            from: opts.from === undefined ? at : dateOption(opts.from, "--from"),
            until: dateOption(opts.until, "--until"),
          },
          { now: at, actor: actorFor(me) },
        );
        if (o.json) printJson(o, { delegation });
        else
          println(
            o,
            `${to.attributes.displayName} decides for ${me.attributes.displayName} from ${delegation.validFrom} until ${delegation.validUntil} (delegation ${delegation.id})`,
          );
      });
    });

  request
    .command("run")
    .description("one pass of the access clock: end what is due (with receipts), expire, remind, warn")
    .action(async (_opts: unknown, cmd: Command) => {
      const g = globalOptions(cmd);
      const o = outputFor(g);
      await withStore(g, async ({ store, config }) => {
        const pass = await accessPass(store, config, { now: now(), actor: cliActor() });
        const summary = {
          ended: pass.confirmed.length,
          unconfirmed: pass.unconfirmed.length,
          expiredRequests: pass.expiredRequests,
          reminders: pass.reminders,
          warnings: pass.warnings,
        };
        if (o.json) printJson(o, { ...summary, confirmed: pass.confirmed, unconfirmed: pass.unconfirmed });
        else
          println(
            o,
            Object.entries(summary)
              .map(([k, v]) => `${k} ${v}`)
              .join(", "),
          );
      });
    });
}

export function registerElevate(program: Command): void {
  program
    .command("elevate")
    .description("hold an elevation role for a short window (approved or auto-approved by policy)")
    .option("--as <person>", "who elevates (id, HR key or email)")
    .requiredOption("--role <name>", "an elevation role (elevation: true)")
    .requiredOption("--for <duration>", "how long: 30m, 2h (at most the role's maxDuration)")
    .requiredOption("--reason <text>", "why (required)")
    .option("--ticket <id>", "the incident or change ticket")
    .option(
      "--break-glass",
      "grant at once without approval: the security contacts are told and the owner reviews it",
    )
    .action(
      async (
        opts: {
          as?: string;
          role: string;
          for: string;
          reason: string;
          ticket?: string;
          breakGlass?: boolean;
        },
        cmd: Command,
      ) => {
        const g = globalOptions(cmd);
        const o = outputFor(g);
        await withStore(g, async ({ store, config }) => {
          const me = await actingAs(store, opts.as, "elevate");
          const outcome = await submitRequest(
            store,
            config,
            {
              requesterId: me.id,
              items: [{ kind: "role", role: opts.role }],
              justification: opts.reason,
              ticket: opts.ticket ?? null,
              durationMs: parseFor(opts.for)!,
              kind: opts.breakGlass ? "break-glass" : "elevation",
            },
            { now: now(), actor: actorFor(me) },
          );
          await printOutcome(o, store, outcome);
        });
      },
    );
}
