import type { Command } from "commander";
import { describeEvent } from "../../audit/event-summary.js";
import { identitySubjects, queryEvents } from "../../audit/ledger.js";
import { LIFECYCLE_STATES, type LifecycleState } from "../../domain/identity-types.js";
import { NotFoundError, UsageError } from "../../shared/errors.js";
import { identityRepository } from "../../store/identity-repository.js";
import { globalOptions, outputFor, withStore } from "../context.js";
import { printJson, println, printTable } from "../output.js";

export function registerIdentities(program: Command): void {
  const identities = program.command("identities").description("list and inspect identities");

  identities
    .command("list")
    .description("list identities")
    .option("--state <state>", `only this lifecycle state (${LIFECYCLE_STATES.join(", ")})`)
    .option("--source <name>", "only from this source")
    .option("--department <name>", "only this department")
    .option("--search <text>", "match key, email or name")
    .option("--limit <n>", "at most this many", (v) => Number.parseInt(v, 10))
    .action(
      async (
        opts: { state?: string; source?: string; department?: string; search?: string; limit?: number },
        cmd: Command,
      ) => {
        if (opts.state !== undefined && !LIFECYCLE_STATES.includes(opts.state as LifecycleState)) {
          throw new UsageError(`--state "${opts.state}" is not one of ${LIFECYCLE_STATES.join(", ")}`);
        }
        if (opts.limit !== undefined && !(opts.limit > 0))
          throw new UsageError("--limit takes a positive whole number");
        const g = globalOptions(cmd);
        const o = outputFor(g);
        const list = await withStore(g, ({ store }) =>
          identityRepository.list(store.db, {
            ...(opts.state !== undefined ? { state: opts.state as LifecycleState } : {}),
            ...(opts.source !== undefined ? { source: opts.source } : {}),
            ...(opts.department !== undefined ? { department: opts.department } : {}),
            ...(opts.search !== undefined ? { search: opts.search } : {}),
            ...(opts.limit !== undefined ? { limit: opts.limit } : {}),
          }),
        );
        if (o.json) {
          printJson(o, { identities: list });
          return;
        }
        const sorted = [...list].sort((a, b) => a.sourceKey.localeCompare(b.sourceKey));
        printTable(
          o,
          ["KEY", "NAME", "STATE", "DEPARTMENT", "TITLE", "EMAIL"],
          sorted.map((i) => [
            i.sourceKey,
            i.attributes.displayName,
            i.state,
            i.attributes.department,
            i.attributes.title,
            i.attributes.email,
          ]),
        );
        println(o, `${list.length} identit${list.length === 1 ? "y" : "ies"}`);
      },
    );

  identities
    .command("show <identity>")
    .description("show one identity (by id, HR key or email) with its timeline")
    .action(async (ref: string, _opts, cmd: Command) => {
      const g = globalOptions(cmd);
      const o = outputFor(g);
      const { identity, events } = await withStore(g, async ({ store }) => {
        const identity = await identityRepository.resolve(store.db, ref);
        if (identity === undefined)
          throw new NotFoundError(`no identity matches "${ref}" (by id, HR key or email)`);
        const events = await queryEvents(store.db, { subject: identitySubjects(identity.id) });
        return { identity, events };
      });
      if (o.json) {
        printJson(o, { identity, timeline: events });
        return;
      }
      const a = identity.attributes;
      println(o, `${a.displayName} (${identity.sourceKey})`);
      println(o, `  id           ${identity.id}`);
      println(o, `  state        ${identity.state} since ${identity.stateSince}`);
      println(o, `  employment   #${identity.employment}, ${a.employmentType}`);
      for (const [k, v] of Object.entries(a)) {
        if (v !== null && !["displayName", "employmentType"].includes(k))
          println(o, `  ${k.padEnd(12)} ${v}`);
      }
      println(o, "timeline:");
      for (const e of events) println(o, `  ${e.time}  ${e.action}  ${describeEvent(e)}  (by ${e.actor})`);
    });
}
