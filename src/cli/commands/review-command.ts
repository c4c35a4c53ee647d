import { writeFileSync } from "node:fs";
import type { Command } from "commander";
import { describeLineage } from "../../domain/lineage-format.js";
import type { ReviewItemState } from "../../domain/review-types.js";
import { NotFoundError, UsageError } from "../../shared/errors.js";
import { identityRepository } from "../../store/identity-repository.js";
import { reviewCampaignRepository, reviewItemRepository } from "../../store/review-repository.js";
import { closeCampaign } from "../../workflows/review-closing.js";
import { decideBulk, decideItem, delegateItem, type ReviewActor } from "../../workflows/review-decisions.js";
import { liftExclusion, listExclusions } from "../../workflows/review-exclusions.js";
import { startCampaign } from "../../workflows/review-generation.js";
import {
  type CampaignReport,
  campaignReport,
  ITEM_COLUMNS,
  itemRows,
} from "../../workflows/review-report.js";
import {
  type CampaignView,
  listReviewItems,
  REVIEW_ITEM_STATES,
  type ReviewItemView,
  reviewerIdsFor,
  viewCampaigns,
  viewReviewItems,
} from "../../workflows/review-view.js";
import { toCsv } from "../../workflows/sod-reports.js";
import { actingAs, actorFor } from "../acting-as.js";
import { cliActor, globalOptions, now, outputFor, withStore } from "../context.js";
import { type Output, printError, printJson, println, printTable } from "../output.js";
import { registerDormant } from "./dormant-command.js";

/** Items a listing shows unless --limit says otherwise. */
const DEFAULT_LIMIT = 200;

function parseLimit(value: string | undefined): number {
  if (value === undefined) return DEFAULT_LIMIT;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 100_000) {
    throw new UsageError(`--limit ${value}: expected a whole number from 1 to 100000`);
  }
  return n;
}

function parseState(value: string | undefined): ReviewItemState | undefined {
  if (value === undefined) return undefined;
  if (!(REVIEW_ITEM_STATES as readonly string[]).includes(value)) {
    throw new UsageError(`--state ${value}: expected one of ${REVIEW_ITEM_STATES.join(", ")}`);
  }
  return value as ReviewItemState;
}

function printCampaign(o: Output, c: CampaignView, report: CampaignReport | null): void {
  println(o, `campaign ${c.id}: ${c.definition} (${c.kind}) — ${c.status}`);
  if (c.description !== null) println(o, `  ${c.description}`);
  println(o, `  started ${c.startedAt} by ${c.startedBy}, deadline ${c.deadline}`);
  if (c.closedAt !== null) println(o, `  closed ${c.closedAt} by ${c.closedBy}`);
  const states = Object.entries(c.byState)
    .map(([s, n]) => `${n} ${s}`)
    .join(", ");
  println(o, `  ${c.total} item(s): ${states === "" ? "none" : states}`);
  if (report === null) return;
  const r = report.revocations;
  println(o, `  completion ${report.completion}% (${report.decided} of ${report.total} decided by a person)`);
  println(
    o,
    `  revocations: ${r.pending} pending, ${r.applied} applied, ${r.confirmed} confirmed, ${r.failed} failed, ${r.notNeeded} not needed`,
  );
  for (const l of report.overdueReviewers) {
    println(
      o,
      `  overdue: ${l.reviewer} — ${l.pending} item(s) ${c.status === "closed" ? "unanswered" : "undecided"}`,
    );
  }
  for (const s of report.reviewers) {
    const pace = s.medianSecondsPerItem === null ? "" : `, median ${s.medianSecondsPerItem} s per item`;
    println(
      o,
      `  ${s.reviewer}: ${s.decided} decided (${s.certified} certified, ${s.revoked} revoked, ${s.bulk} in bulk)${pace}${s.rubberStamp ? " — RUBBER STAMP?" : ""}`,
    );
  }
}

function printItem(o: Output, i: ReviewItemView): void {
  const employee = i.holder.employeeId === null ? "" : ` (${i.holder.employeeId})`;
  println(
    o,
    `item ${i.id}: ${i.holder.name}${employee} holds ${i.label}${i.privileged ? " [privileged]" : ""}`,
  );
  println(o, `  campaign ${i.campaign.definition} (${i.campaign.status}, deadline ${i.campaign.deadline})`);
  println(o, `  risk ${i.risk.level} (${i.risk.score}), recommended: ${i.risk.recommendation}`);
  for (const r of i.risk.reasons) println(o, `    ${r.detail} (+${r.weight})`);
  println(o, `  source: ${i.source}`);
  for (const l of i.evidence.lineage) println(o, `    because ${describeLineage(l)}`);
  const e = i.evidence;
  if (e.lastUsedAt !== null) println(o, `  last used ${e.lastUsedAt}`);
  if (e.peers !== null) println(o, `  held by ${e.peers.holding} of ${e.peers.total} peers`);
  if (e.lastReview !== null) println(o, `  last review: ${e.lastReview.decision} at ${e.lastReview.at}`);
  if (e.sodRules.length > 0) println(o, `  separation of duties: ${e.sodRules.join(", ")}`);
  const reviewer = i.reviewer?.name ?? "(nobody)";
  const rerouted =
    i.rerouteReason === null
      ? ""
      : ` (${i.rerouteReason}${i.ruleReviewer === null ? "" : `, for ${i.ruleReviewer.name}`})`;
  println(o, `  stage ${i.stage + 1}, reviewer ${reviewer}${rerouted}`);
  const decided =
    i.decidedAt === null ? "" : ` at ${i.decidedAt}${i.decidedBy === null ? "" : ` by ${i.decidedBy.name}`}`;
  println(
    o,
    `  ${i.state}${decided}${i.bulk ? " (bulk)" : ""}${i.comment === null ? "" : ` — ${i.comment}`}`,
  );
  if (i.removalState !== null) {
    println(o, `  removal ${i.removalState}${i.removalDetail === null ? "" : `: ${i.removalDetail}`}`);
  }
}

function printItems(o: Output, items: readonly ReviewItemView[]): void {
  printTable(
    o,
    ["ID", "RISK", "HOLDER", "ACCESS", "REVIEWER", "STATE", "CAMPAIGN"],
    items.map((i) => [
      i.id,
      `${i.risk.level} ${i.risk.score}${i.privileged ? " P" : ""}`,
      i.holder.name,
      i.label,
      i.reviewer?.name ?? "(nobody)",
      i.state,
      i.campaign.definition,
    ]),
  );
}

/** What one decision did, in words. */
function decidedLine(i: ReviewItemView): string {
  if (i.state === "pending") {
    return `${i.label} for ${i.holder.name}: certified at stage ${i.stage}, now with ${i.reviewer?.name ?? "(nobody)"} (item ${i.id})`;
  }
  return `${i.label} for ${i.holder.name}: ${i.state} (item ${i.id})`;
}

export function registerReview(program: Command): void {
  const review = program
    .command("review")
    .description("access reviews: campaigns, items riskiest first with evidence, decisions, reports");
  registerDormant(review);

  review
    .command("list")
    .description("campaigns, or with --campaign / --mine their items riskiest first")
    .option("--campaign <id>", "the items of this campaign")
    .option("--state <state>", `only items in this state: ${REVIEW_ITEM_STATES.join(", ")}`)
    .option("--mine", "only the items --as reviews (or reviews for someone who delegated to them)")
    .option("--as <person>", "who you are (id, HR key or email), for --mine and your counts")
    .option("--limit <n>", `at most this many items (default ${DEFAULT_LIMIT})`)
    .action(
      async (
        opts: { campaign?: string; state?: string; mine?: boolean; as?: string; limit?: string },
        cmd: Command,
      ) => {
        const g = globalOptions(cmd);
        const o = outputFor(g);
        const state = parseState(opts.state);
        const limit = parseLimit(opts.limit);
        if (opts.mine === true && opts.as === undefined) {
          throw new UsageError("--mine needs --as PERSON: whose items (id, HR key or email)");
        }
        await withStore(g, async ({ store }) => {
          const at = now();
          const me = opts.as === undefined ? null : await actingAs(store, opts.as, "review list");
          const reviewerIds = me === null ? undefined : await reviewerIdsFor(store, me.id, at);
          if (opts.campaign === undefined && opts.mine !== true) {
            if (state !== undefined) throw new UsageError("--state filters items: give --campaign or --mine");
            const campaigns = await viewCampaigns(
              store,
              await reviewCampaignRepository.list(store.db, { limit }),
              reviewerIds,
            );
            if (o.json) {
              printJson(o, { campaigns });
              return;
            }
            if (campaigns.length === 0) {
              println(o, "no campaigns (tenure review start NAME starts one)");
              return;
            }
            printTable(
              o,
              [
                "ID",
                "CAMPAIGN",
                "KIND",
                "STATUS",
                "DEADLINE",
                "PENDING",
                "TOTAL",
                ...(me === null ? [] : ["MINE"]),
              ],
              campaigns.map((c) => [
                c.id,
                c.definition,
                c.kind,
                c.status,
                c.deadline,
                c.pending,
                c.total,
                ...(c.mine === null ? [] : [c.mine.pending]),
              ]),
            );
            return;
          }
          if (
            opts.campaign !== undefined &&
            (await reviewCampaignRepository.find(store.db, opts.campaign)) === undefined
          ) {
            throw new NotFoundError(`--campaign ${opts.campaign}: no campaign has this id`);
          }
          const rows = await listReviewItems(store, {
            limit: limit + 1,
            ...(opts.mine === true ? { reviewerIds: reviewerIds! } : {}),
            ...(opts.campaign !== undefined ? { campaignId: opts.campaign } : {}),
            ...(state !== undefined ? { states: [state] } : {}),
          });
          const items = await viewReviewItems(store, rows.slice(0, limit));
          const more = rows.length > limit;
          if (o.json) {
            printJson(o, { items, more });
            return;
          }
          if (items.length === 0) {
            println(o, "no items");
            return;
          }
          printItems(o, items);
          if (more)
            println(o, `(more than ${limit}: --limit shows more, tenure review report CAMPAIGN every item)`);
        });
      },
    );

  review
    .command("start <campaign>")
    .description("start a campaign of tenure.yaml reviews.campaigns now (ad hoc); its reviewers are notified")
    .action(async (name: string, _opts: unknown, cmd: Command) => {
      const g = globalOptions(cmd);
      const o = outputFor(g);
      await withStore(g, async ({ store, config }) => {
        // Reading everyone's access takes a while in a large organisation: say so on a terminal.
        if (!o.json && process.stderr.isTTY) printError(o, `starting ${name}: reading everyone's access…`);
        const started = await startCampaign(store.db, config, name, {
          now: now(),
          startedBy: cliActor(),
          kind: "ad-hoc",
        });
        const reviewers = [...started.byReviewer].map(([reviewerId, load]) => ({ reviewerId, ...load }));
        const campaign =
          started.campaign === null ? null : (await viewCampaigns(store, [started.campaign]))[0]!;
        if (o.json) {
          printJson(o, { campaign, items: started.items, reviewers });
          return;
        }
        if (campaign === null) {
          println(o, `nothing is in the scope of ${name}: no campaign started`);
          return;
        }
        const nobody = started.byReviewer.get(null)?.items ?? 0;
        println(
          o,
          `campaign ${campaign.id} (${name}): ${started.items} item(s) for ${reviewers.filter((r) => r.reviewerId !== null).length} reviewer(s), deadline ${campaign.deadline}`,
        );
        if (nobody > 0) {
          println(o, `  ${nobody} item(s) have no reviewer: tenure review delegate ITEM --to PERSON --admin`);
        }
      });
    });

  review
    .command("show <id>")
    .description("a campaign with its report, or an item with its risk, evidence and lineage")
    .action(async (id: string, _opts: unknown, cmd: Command) => {
      const g = globalOptions(cmd);
      const o = outputFor(g);
      await withStore(g, async ({ store }) => {
        const campaign = await reviewCampaignRepository.find(store.db, id);
        if (campaign !== undefined) {
          const [view] = await viewCampaigns(store, [campaign]);
          const report = await campaignReport(store, campaign.id, now());
          if (o.json) printJson(o, { campaign: view, report });
          else printCampaign(o, view!, report);
          return;
        }
        const item = await reviewItemRepository.find(store.db, id);
        if (item === undefined) throw new NotFoundError(`no campaign or review item has the id "${id}"`);
        const [view] = await viewReviewItems(store, [item]);
        if (o.json) printJson(o, { item: view });
        else printItem(o, view!);
      });
    });

  review
    .command("decide <items...>")
    .description("certify or revoke items as --as (several items: one bulk decision with one comment)")
    .option("--certify", "keep the access")
    .option("--revoke", "remove the access (needs --comment saying why)")
    .option("--comment <text>", "why; required to revoke and for several items")
    .option("--as <person>", "who decides (id, HR key or email)")
    .action(
      async (
        ids: string[],
        opts: { certify?: boolean; revoke?: boolean; comment?: string; as?: string },
        cmd: Command,
      ) => {
        const g = globalOptions(cmd);
        const o = outputFor(g);
        if ((opts.certify === true) === (opts.revoke === true)) {
          throw new UsageError("review decide needs exactly one of --certify and --revoke");
        }
        const decision = opts.certify === true ? "certify" : "revoke";
        await withStore(g, async ({ store, config }) => {
          const me = await actingAs(store, opts.as, "review decide");
          const actor: ReviewActor = { person: me, asAdmin: false, label: actorFor(me) };
          const at = now();
          const decided =
            ids.length === 1
              ? [
                  await decideItem(
                    store,
                    config,
                    {
                      itemId: ids[0]!,
                      decision,
                      ...(opts.comment !== undefined ? { comment: opts.comment } : {}),
                    },
                    actor,
                    at,
                  ),
                ]
              : (
                  await decideBulk(
                    store,
                    config,
                    { itemIds: ids, decision, comment: opts.comment ?? "" },
                    actor,
                    at,
                  )
                ).decided;
          const views = await viewReviewItems(store, decided);
          if (o.json) {
            printJson(o, { decided: views });
            return;
          }
          for (const v of views) println(o, decidedLine(v));
          // A reviewer's revocation is carried out by a pass of the access timer, not by the decision.
          const removing = views.filter((v) => v.removalState === "pending");
          if (removing.length > 0) {
            println(
              o,
              `the removal follows: \`tenure serve\` carries it out within 30 s (\`tenure request run\` does it now); \`tenure review show ${removing[0]!.id}\` shows when the target confirms it`,
            );
          }
        });
      },
    );

  review
    .command("delegate <item>")
    .description("hand an undecided item to another reviewer (its reviewer with --as, or --admin)")
    .requiredOption("--to <person>", "the new reviewer (id, HR key or email)")
    .option("--as <person>", "who delegates: the item's reviewer (id, HR key or email)")
    .option("--admin", "reassign as a platform admin (an item nobody could review)")
    .option("--comment <text>", "why")
    .action(
      async (
        id: string,
        opts: { to: string; as?: string; admin?: boolean; comment?: string },
        cmd: Command,
      ) => {
        const g = globalOptions(cmd);
        const o = outputFor(g);
        if (opts.as === undefined && opts.admin !== true) {
          throw new UsageError("review delegate needs --as PERSON (the item's reviewer) or --admin");
        }
        await withStore(g, async ({ store, config }) => {
          const me = opts.as === undefined ? null : await actingAs(store, opts.as, "review delegate");
          const item = await delegateItem(
            store,
            config,
            { itemId: id, to: opts.to, ...(opts.comment !== undefined ? { comment: opts.comment } : {}) },
            { person: me, asAdmin: opts.admin === true, label: actorFor(me) },
            now(),
          );
          const [view] = await viewReviewItems(store, [item]);
          if (o.json) printJson(o, { item: view });
          else
            println(
              o,
              `${view!.label} for ${view!.holder.name} is now reviewed by ${view!.reviewer?.name} (item ${id})`,
            );
        });
      },
    );

  review
    .command("close <campaign>")
    .description("close a campaign now: each undecided item follows onNoResponse for its risk")
    .option("--as <person>", "who closes it (id, HR key or email), for the record")
    .action(async (id: string, opts: { as?: string }, cmd: Command) => {
      const g = globalOptions(cmd);
      const o = outputFor(g);
      await withStore(g, async ({ store, config }) => {
        const me = opts.as === undefined ? null : await actingAs(store, opts.as, "review close");
        const at = now();
        const closed = await closeCampaign(store, config, id, { now: at, actor: actorFor(me), by: me });
        const [view] = await viewCampaigns(store, [closed]);
        const report = await campaignReport(store, closed.id, at);
        if (o.json) {
          printJson(o, { campaign: view, report });
          return;
        }
        if (closed.status === "open") {
          println(
            o,
            `campaign ${closed.id} stays open until ${closed.deadline}: undecided items moved to their reviewers' managers (onNoResponse: escalate)`,
          );
        }
        printCampaign(o, view!, report);
      });
    });

  review
    .command("report <campaign>")
    .description("every item of a campaign with its decision, for auditors: CSV (default) or JSON")
    .option("--format <format>", "csv or json", "csv")
    .option("--output <file>", "write to this file rather than standard output")
    .action(async (id: string, opts: { format: string; output?: string }, cmd: Command) => {
      const g = globalOptions(cmd);
      const o = outputFor(g);
      const json = g.json === true || opts.format === "json";
      if (!json && opts.format !== "csv")
        throw new UsageError(`--format ${opts.format}: expected csv or json`);
      await withStore(g, async ({ store }) => {
        const report = await campaignReport(store, id, now());
        const rows = await itemRows(store, id);
        const text = json ? `${JSON.stringify({ report, rows }, null, 2)}\n` : toCsv(rows, ITEM_COLUMNS);
        if (opts.output !== undefined) {
          writeFileSync(opts.output, text);
          if (!json) println(o, `${rows.length} row(s) written to ${opts.output}`);
        } else {
          o.out.write(text);
        }
      });
    });

  review
    .command("exclusions")
    .description("birthright access reviewers refused: kept out of the plan for the holder's employment")
    .option("--identity <person>", "only this person's (id, HR key or email)")
    .action(async (opts: { identity?: string }, cmd: Command) => {
      const g = globalOptions(cmd);
      const o = outputFor(g);
      await withStore(g, async ({ store }) => {
        const who =
          opts.identity === undefined ? undefined : await identityRepository.resolve(store.db, opts.identity);
        if (opts.identity !== undefined && who === undefined)
          throw new NotFoundError(`no identity is "${opts.identity}"`);
        const list = await listExclusions(store, who === undefined ? {} : { identityId: who.id });
        if (o.json) {
          printJson(o, { exclusions: list });
          return;
        }
        if (list.length === 0) {
          println(o, "no exclusions in force");
          return;
        }
        printTable(
          o,
          ["ID", "HOLDER", "ACCESS", "REFUSED IN", "SINCE"],
          list.map((x) => [
            x.id,
            x.holder,
            x.access,
            `${x.campaign ?? x.campaignId} (item ${x.itemId})`,
            x.createdAt,
          ]),
        );
      });
    });

  review
    .command("lift <exclusion>")
    .description("lift an exclusion (the refusal was a mistake): the plan gives the access again, at once")
    .requiredOption("--reason <text>", "why the reviewer's refusal is overruled (audited)")
    .action(async (id: string, opts: { reason: string }, cmd: Command) => {
      const g = globalOptions(cmd);
      const o = outputFor(g);
      await withStore(g, async ({ store, config }) => {
        const result = await liftExclusion(
          store,
          config,
          { id, reason: opts.reason },
          { now: now(), actor: cliActor() },
        );
        if (o.json) {
          printJson(o, result);
          return;
        }
        println(
          o,
          `exclusion ${id} lifted: ${result.exclusion.access} may be given to ${result.exclusion.holder} again`,
        );
        if (result.provisioned.error !== null)
          println(o, `provisioning now failed (it retries): ${result.provisioned.error}`);
      });
    });
}
