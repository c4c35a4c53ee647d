import type { Command } from "commander";
import { dormantRepository } from "../../store/dormant-repository.js";
import { releaseDormant, runDormantCheck } from "../../workflows/dormant-accounts.js";
import { cliActor, globalOptions, now, outputFor, withStore } from "../context.js";
import { printJson, println, printTable } from "../output.js";

/**
 * `tenure review dormant`: accounts noticed or disabled by a dormant policy (`reviews.dormant`), the
 * check run now (`check`), and a hold released by an administrator (`release`). Attached to the
 * `review` command by its register function: `registerDormant(review)`.
 */
export function registerDormant(review: Command): void {
  const dormant = review
    .command("dormant")
    .description("dormant accounts: noticed (to be disabled unless used) and disabled by reviews.dormant");

  dormant
    .command("list", { isDefault: true })
    .description("accounts noticed or held disabled (the default)")
    .option("--all", "also notices and holds that were cleared")
    .option("--system <name>", "only this system")
    .action(async (opts: { all?: boolean; system?: string }, cmd: Command) => {
      const g = globalOptions(cmd);
      const o = outputFor(g);
      await withStore(g, async ({ store }) => {
        const list = await dormantRepository.list(store.db, {
          all: opts.all === true,
          ...(opts.system !== undefined ? { system: opts.system } : {}),
        });
        if (o.json) {
          printJson(o, { accounts: list.map((r) => ({ ...r, state: stateOf(r) })) });
          return;
        }
        if (list.length === 0) {
          println(o, "no dormant accounts noticed or disabled");
          return;
        }
        printTable(
          o,
          ["SYSTEM", "ACCOUNT", "HOLDER", "LAST USED", "STATE", "NOTICED", "DISABLE AT"],
          list.map((r) => [
            r.system,
            r.username ?? "(removed)",
            r.holder ?? "(orphan)",
            r.lastUsedAt ?? "never",
            stateOf(r),
            r.noticedAt,
            r.disabledAt ?? r.disableAt,
          ]),
        );
      });
    });

  dormant
    .command("check")
    .description("run the dormant check now (the scheduler runs it with the reviews job)")
    .action(async (_opts: unknown, cmd: Command) => {
      const g = globalOptions(cmd);
      const o = outputFor(g);
      await withStore(g, async ({ store, config }) => {
        const result = await runDormantCheck({ db: store.db, config, now: now(), actor: cliActor() });
        if (o.json) {
          printJson(o, result);
          return;
        }
        println(
          o,
          `${result.noticed.length} noticed, ${result.disabled.length} disabled, ${result.cleared.length} cleared, ${result.queued} disables queued`,
        );
        for (const n of result.noticed)
          println(
            o,
            `  noticed ${n.system}/${n.username}: unused since ${n.idleSince}, disabled on ${n.disableAt}`,
          );
        for (const d of result.disabled) println(o, `  disabled ${d.system}/${d.username}`);
        for (const c of result.cleared) println(o, `  cleared ${c.system}/${c.username} (${c.reason})`);
        for (const m of result.massChange) {
          println(
            o,
            `  not disabled: ${m.system} would disable ${m.disable} of ${m.total} accounts, past lifecycle.massChangeThreshold`,
          );
        }
      });
    });

  dormant
    .command("release <system> <username>")
    .description("end an account's dormant notice or hold: the next plan enables it where policy wants it")
    .action(async (system: string, username: string, _opts: unknown, cmd: Command) => {
      const g = globalOptions(cmd);
      const o = outputFor(g);
      await withStore(g, async ({ store }) => {
        const released = await releaseDormant(
          { db: store.db, now: now(), actor: cliActor() },
          system,
          username,
        );
        if (o.json) printJson(o, { released });
        else
          println(
            o,
            `released ${system}/${username}: the next apply enables it where policy wants it enabled`,
          );
      });
    });
}

function stateOf(r: { disabledAt: string | null; clearedAt: string | null }): string {
  return r.clearedAt !== null ? "cleared" : r.disabledAt !== null ? "disabled" : "noticed";
}
