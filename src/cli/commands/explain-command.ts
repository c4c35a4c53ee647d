import type { Command } from "commander";
import { explainAccess } from "../../domain/explain.js";
import { policyToday } from "../../engine/provision.js";
import { NotFoundError } from "../../shared/errors.js";
import { accountLinkRepository } from "../../store/account-repository.js";
import { assignmentRepository } from "../../store/assignment-repository.js";
import { identityRepository } from "../../store/identity-repository.js";
import { globalOptions, now, outputFor, withStore } from "../context.js";
import { printJson, println } from "../output.js";

export function registerExplain(program: Command): void {
  program
    .command("explain <identity>")
    .description("say why each piece of access is desired for an identity — or why not")
    .option("--system <name>", "only this system")
    .option("--entitlement <key>", "only this entitlement (system:key, or key with --system)")
    .action(async (ref: string, opts: { system?: string; entitlement?: string }, cmd: Command) => {
      const g = globalOptions(cmd);
      const o = outputFor(g);
      const at = now();
      const { identity, explanation } = await withStore(g, async ({ config, store }) => {
        const identity = await identityRepository.resolve(store.db, ref);
        if (identity === undefined)
          throw new NotFoundError(`no identity matches "${ref}" (by id, HR key or email)`);
        const [links, assignments] = await Promise.all([
          accountLinkRepository.list(store.db, { identityId: identity.id }),
          assignmentRepository.list(store.db, { identityId: identity.id }),
        ]);
        const explanation = explainAccess(
          {
            identity,
            policy: config.policy,
            lifecycle: config.lifecycle,
            assignments,
            usernames: Object.fromEntries(links.map((l) => [l.system, l.username])),
            now: at,
            today: policyToday(config, at),
          },
          {
            ...(opts.system !== undefined ? { system: opts.system } : {}),
            ...(opts.entitlement !== undefined ? { entitlement: opts.entitlement } : {}),
          },
        );
        return { identity, explanation };
      });
      if (o.json) {
        printJson(o, explanation);
        return;
      }
      println(
        o,
        `${identity.attributes.displayName} (${identity.sourceKey}), ${explanation.state}, id ${identity.id}`,
      );
      for (const line of explanation.lines) println(o, `  ${line}`);
    });
}
