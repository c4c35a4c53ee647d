import type { Command } from "commander";
import { explainIdentity } from "../../engine/access-queries.js";
import { NotFoundError } from "../../shared/errors.js";
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
        const explanation = await explainIdentity(store, config, identity, at, {
          ...(opts.system !== undefined ? { system: opts.system } : {}),
          ...(opts.entitlement !== undefined ? { entitlement: opts.entitlement } : {}),
        });
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
