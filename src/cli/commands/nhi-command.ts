import type { Command } from "commander";
import { NotFoundError } from "../../shared/errors.js";
import { withAccountHolds } from "../../workflows/nhi-hold-view.js";
import { syncNhiInventory } from "../../workflows/nhi-inventory.js";
import { assignNhiOwner } from "../../workflows/nhi-owner.js";
import { rotateNhi } from "../../workflows/nhi-rotate.js";
import { confirmNhiOwnership, nhiOwnerSuccession } from "../../workflows/nhi-succession.js";
import { listNhiViews } from "../../workflows/nhi-view.js";
import { actingAs, actorFor } from "../acting-as.js";
import { cliActor, globalOptions, now, outputFor, withStore } from "../context.js";
import { printJson, println, printTable } from "../output.js";
import { accountLine, printView } from "./nhi-output.js";

/**
 * `tenure nhi`: non-human identities (docs/nhi.md) — the inventory with its findings (`list`, `show`), the
 * inventory synced and owner succession run now (`sync`), and ownership confirmed by the pending owner
 * (`confirm`), an owner assigned by hand (`assign-owner`), credentials rotated (`rotate`).
 */
export function registerNhi(program: Command): void {
  const nhi = program
    .command("nhi")
    .description("non-human identities: service accounts, API keys, OAuth apps, agents");

  nhi
    .command("list", { isDefault: true })
    .description("every NHI with its owner and status (the default)")
    .option("--findings", "also each NHI's findings under nhi.policy (owner, credential age, expiry, scopes)")
    .option("--all", "also NHIs removed from the inventory")
    .action(async (opts: { findings?: boolean; all?: boolean }, cmd: Command) => {
      const g = globalOptions(cmd);
      const o = outputFor(g);
      await withStore(g, async ({ store, config }) => {
        const views = await withAccountHolds(
          store,
          await listNhiViews(store, config, now(), { all: opts.all === true }),
        );
        if (o.json) {
          printJson(o, {
            nhis: views.map((v) => (opts.findings === true ? v : { ...v, findings: undefined })),
          });
          return;
        }
        if (views.length === 0) {
          println(o, "no non-human identities: declare them under nhi.inventory, then run tenure nhi sync");
          return;
        }
        printTable(
          o,
          ["NAME", "TYPE", "SYSTEM", "OWNER", "STATUS", "EXPIRES", "LAST USED", "FINDINGS"],
          views.map((v) => [
            v.name,
            v.type,
            v.system ?? "-",
            v.owner ?? v.ownerKey ?? "(none)",
            v.status === "pending" ? `pending → ${v.pendingOwner}` : v.status,
            v.expiresAt ?? "-",
            v.lastUsedAt ?? "-",
            String(v.findings.length),
          ]),
        );
        if (opts.findings === true) {
          for (const v of views)
            for (const f of v.findings)
              println(o, `${f.severity.padEnd(7)}${f.code.padEnd(19)} ${f.message}`);
        }
      });
    });

  nhi
    .command("show <name>")
    .description("one NHI: what the inventory says, its owners and succession, its findings")
    .action(async (name: string, _opts: unknown, cmd: Command) => {
      const g = globalOptions(cmd);
      const o = outputFor(g);
      await withStore(g, async ({ store, config }) => {
        const [v] = await withAccountHolds(store, await listNhiViews(store, config, now(), { name }));
        if (v === undefined) throw new NotFoundError(`no non-human identity named ${name}`);
        if (o.json) printJson(o, v);
        else printView(o, v);
      });
    });

  nhi
    .command("sync")
    .description(
      "sync the inventory (declared, removed, discovered NHIs), then run owner succession and expiry warnings",
    )
    .option(
      "--confirm-mass-change <planHash>",
      "let through NHI disables held by mass-change protection: exactly the plan with this hash (admin)",
    )
    .action(async (opts: { confirmMassChange?: string }, cmd: Command) => {
      const g = globalOptions(cmd);
      const o = outputFor(g);
      await withStore(g, async ({ store, config }) => {
        const at = now();
        const actor = cliActor();
        const sync = await syncNhiInventory(store, config, {
          now: at,
          actor,
          confirmMassChange: opts.confirmMassChange,
        });
        // One hash confirms one gate: the sync's removals, or else owner succession's disables.
        const succession = await nhiOwnerSuccession(store, config, {
          now: at,
          actor,
          confirmMassChange: sync.massChangeConfirmed === true ? undefined : opts.confirmMassChange,
        });
        const { massChangeStopped: removalsStopped, massChangeConfirmed: _, ...synced } = sync;
        const { massChangeStopped: stopped, ...done } = succession;
        // Exit 3 (stopped by mass-change protection) once the rest of the run is reported.
        const held = removalsStopped ?? stopped;
        const stopOf = (e: typeof stopped) =>
          e === undefined ? {} : { massChangeStopped: { planHash: e.planHash, counts: e.counts } };
        if (o.json) {
          printJson(o, {
            sync: { ...synced, ...stopOf(removalsStopped) },
            succession: { ...done, ...stopOf(stopped) },
          });
          if (held !== undefined) throw held;
          return;
        }
        println(
          o,
          `${sync.created.length} created, ${sync.updated.length} updated, ${sync.removed.length} removed, ${sync.discovered.length} discovered, ${sync.unchanged} unchanged`,
        );
        for (const name of sync.removed)
          println(o, `  removed ${name}: no longer in the inventory (kept, marked removed)`);
        for (const name of sync.discovered) println(o, `  discovered ${name}: no owner yet`);
        for (const p of succession.pending) println(o, `  ${p.name}: ownership pending to identity ${p.to}`);
        for (const name of succession.disabled) println(o, `  ${name}: disabled (nobody took ownership)`);
        for (const name of succession.ownerless) println(o, `  ${name}: kept without an owner`);
        for (const w of succession.warned) println(o, `  ${w.name}: expires within ${w.within} (owner told)`);
        for (const a of succession.accounts) println(o, `  ${accountLine(a)}`);
        // Both gates may stop in one run, each with its own hash: the first is the error, the other said here.
        if (removalsStopped !== undefined && stopped !== undefined)
          println(o, `  also held: owner succession's disables: ${stopped.message}`);
        if (held !== undefined) throw held;
      });
    });

  nhi
    .command("confirm <name>")
    .description("take ownership of an NHI passed to you (only the pending owner may)")
    .option("--as <person>", "who confirms: the pending owner (id, HR key or email)")
    .action(async (name: string, opts: { as?: string }, cmd: Command) => {
      const g = globalOptions(cmd);
      const o = outputFor(g);
      await withStore(g, async ({ store, config }) => {
        const me = await actingAs(store, opts.as, "nhi confirm");
        const confirmed = await confirmNhiOwnership(store, config, name, me.id, {
          now: now(),
          actor: actorFor(me),
        });
        if (o.json) printJson(o, { nhi: confirmed.name, owner: me.sourceKey, ownerId: confirmed.ownerId });
        else println(o, `${me.sourceKey} now owns ${confirmed.name}`);
      });
    });
  registerAssignOwner(nhi);
  registerRotate(nhi);
}

/** `tenure nhi assign-owner NAME --owner KEY`: an owner (and co-owners) given by hand. */
function registerAssignOwner(nhi: Command): void {
  nhi
    .command("assign-owner <name>")
    .description(
      "make an active person the NHI's owner (clears a pending succession); in force until the inventory's owner of it changes",
    )
    .requiredOption("--owner <person>", "the new owner (id, HR key or email): an active person")
    .option(
      "--co-owner <person>",
      "a co-owner (repeat for more): an active person",
      (value: string, previous: string[]) => [...previous, value],
      [] as string[],
    )
    .action(async (name: string, opts: { owner: string; coOwner: string[] }, cmd: Command) => {
      const g = globalOptions(cmd);
      const o = outputFor(g);
      await withStore(g, async ({ store, config }) => {
        const done = await assignNhiOwner(
          store,
          config,
          name,
          { owner: opts.owner, coOwners: opts.coOwner },
          { now: now(), actor: cliActor() },
        );
        if (o.json) {
          printJson(o, done);
          return;
        }
        const co = done.coOwners.length === 0 ? "" : ` (co-owners ${done.coOwners.join(", ")})`;
        println(
          o,
          done.changed
            ? `${done.owner} now owns ${done.name}${co}; before: ${done.previousOwner ?? "nobody"}`
            : `${done.owner} already owns ${done.name}${co}: nothing changed`,
        );
        for (const a of done.accounts) println(o, `  ${accountLine(a)}`);
      });
    });
}

/** `tenure nhi rotate NAME`: a new secret, delivered, set, verified with a real login, the old retired. */
function registerRotate(nhi: Command): void {
  nhi
    .command("rotate <name>")
    .description(
      "rotate the NHI's credential now: generate, deliver to nhi.rotation.sink, set, verify with a real login, retire the old",
    )
    .action(async (name: string, _opts: unknown, cmd: Command) => {
      const g = globalOptions(cmd);
      const o = outputFor(g);
      await withStore(g, async ({ store, config }) => {
        const done = await rotateNhi(store, config, name, {
          now: now(),
          actor: cliActor(),
          reason: "on-demand",
        });
        if (o.json) printJson(o, done);
        else println(o, `${done.name}: rotated (rotation ${done.rotationId}); the new secret is in the sink`);
      });
    });
}
