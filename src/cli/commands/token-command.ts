import type { Command } from "commander";
import { PLATFORM_ROLES } from "../../api/auth/platform-roles.js";
import { createTokenService, parseExpiry } from "../../api/auth/token-service.js";
import { apiTokenRepository } from "../../store/api-token-repository.js";
import type { Store } from "../../store/database.js";
import { cliActor, globalOptions, now, outputFor, withStore } from "../context.js";
import { printJson, println, printTable } from "../output.js";

function tokenService(store: Store) {
  return createTokenService({ db: store.db, tokens: apiTokenRepository, now });
}

export function registerToken(program: Command): void {
  const token = program.command("token").description("API bearer tokens: create, list, revoke");

  token
    .command("create")
    .description("create a token with a platform role and print it, once (only its hash is stored)")
    .requiredOption("--name <name>", "a name to tell it apart, unique among live tokens")
    .requiredOption("--role <role>", `its platform role (${PLATFORM_ROLES.join(", ")})`)
    .option("--expires <when>", "when it stops working: 90d, 12h, 4w, a date, or never", "never")
    .option(
      "--identity <ref>",
      "the person it stands for (id, HR key or email): it acts as them, and stops when they leave",
    )
    .action(
      async (opts: { name: string; role: string; expires: string; identity?: string }, cmd: Command) => {
        const g = globalOptions(cmd);
        const o = outputFor(g);
        const created = await withStore(g, ({ store }) =>
          tokenService(store).create({
            name: opts.name,
            role: opts.role,
            expiresAt: parseExpiry(opts.expires, now()),
            actor: cliActor(),
            ...(opts.identity !== undefined ? { identity: opts.identity } : {}),
          }),
        );
        if (o.json) {
          printJson(o, { token: created.token, ...created.record });
          return;
        }
        const r = created.record;
        const who = r.identityId !== null ? `, for identity ${opts.identity}` : "";
        println(
          o,
          `token ${r.name} created (role ${r.role}${who}, expires ${r.expiresAt ?? "never"}, id ${r.id}):`,
        );
        println(o, created.token);
        println(o, "Store it now: it is shown only this once. Send it as `Authorization: Bearer <token>`.");
      },
    );

  token
    .command("list")
    .description(
      "list tokens (never the tokens themselves): role, prefix, created, expires, last used, revoked",
    )
    .action(async (_opts, cmd: Command) => {
      const g = globalOptions(cmd);
      const o = outputFor(g);
      const tokens = await withStore(g, ({ store }) => tokenService(store).list());
      if (o.json) {
        printJson(o, { tokens });
        return;
      }
      printTable(
        o,
        ["ID", "NAME", "ROLE", "PREFIX", "CREATED", "BY", "EXPIRES", "LAST USED", "REVOKED"],
        tokens.map((t) => [
          t.id,
          t.name,
          t.role,
          `${t.prefix}…`,
          t.createdAt,
          t.createdBy,
          t.expiresAt ?? "never",
          t.lastUsedAt ?? "never",
          t.revokedAt ?? "",
        ]),
      );
    });

  token
    .command("revoke <ref>")
    .description("revoke a token by name or id: it stops working at once (audited)")
    .action(async (ref: string, _opts, cmd: Command) => {
      const g = globalOptions(cmd);
      const o = outputFor(g);
      const revoked = await withStore(g, ({ store }) => tokenService(store).revoke(ref, cliActor()));
      if (o.json) printJson(o, { token: revoked });
      else println(o, `token ${revoked.name} (${revoked.id}) revoked`);
    });
}
