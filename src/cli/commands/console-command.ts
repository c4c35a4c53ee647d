import type { Command } from "commander";
import { createSessionService } from "../../api/auth/session-service.js";
import type { TenureConfig } from "../../policy/config-types.js";
import { CONSOLE_ROLES } from "../../policy/config-types.js";
import { UsageError } from "../../shared/errors.js";
import type { Store } from "../../store/database.js";
import { cliActor, globalOptions, now, outputFor, withStore } from "../context.js";
import { printJson, println } from "../output.js";

/** How long a printed sign-in link works, by default. */
export const LINK_MINUTES = 15;

/** The console's address for links: `server.console.publicUrl`, else where `tenure serve` listens. */
export function consoleUrl(config: TenureConfig, listening?: string): string {
  const configured = config.server.console.publicUrl?.replace(/\/+$/, "");
  if (configured !== undefined) return configured;
  if (listening !== undefined) return listening;
  const host = config.server.host.includes(":") ? `[${config.server.host}]` : config.server.host;
  return `http://${host === "0.0.0.0" ? "127.0.0.1" : host}:${config.server.port}`;
}

/** A one-time sign-in link to the console at `base` (audited as `sign-in-link.created`). */
export async function signInLink(
  store: Pick<Store, "db">,
  config: TenureConfig,
  base: string,
  input: {
    name: string;
    role: (typeof CONSOLE_ROLES)[number];
    minutes: number;
    actor: string;
    now: () => Date;
  },
): Promise<{ url: string; expiresAt: string }> {
  const sessions = createSessionService({
    db: store.db,
    now: input.now,
    sessionHours: config.server.console.sessionHours,
  });
  const { code, expiresAt } = await sessions.createLink(input);
  return { url: `${base}/auth/link/${code}`, expiresAt };
}

export function registerConsole(program: Command): void {
  const consoleCommand = program.command("console").description("the web console: sign-in links");
  consoleCommand
    .command("link")
    .description(
      "print a one-time link that signs its opener in to the console (for a first admin, before single sign-on)",
    )
    .option("--name <name>", "who the session is for, as the audit and the console show it", "console-admin")
    .option("--role <role>", `the session's platform role (${CONSOLE_ROLES.join(", ")})`, "admin")
    .option("--minutes <n>", "how long the link works, unused", (v) => Number.parseInt(v, 10), LINK_MINUTES)
    .action(async (opts: { name: string; role: string; minutes: number }, cmd: Command) => {
      const g = globalOptions(cmd);
      const o = outputFor(g);
      if (!(CONSOLE_ROLES as readonly string[]).includes(opts.role)) {
        throw new UsageError(`--role ${opts.role}: expected one of ${CONSOLE_ROLES.join(", ")}`);
      }
      if (!Number.isInteger(opts.minutes) || opts.minutes < 1 || opts.minutes > 1440) {
        throw new UsageError(`--minutes: expected a whole number of minutes from 1 to 1440`);
      }
      const link = await withStore(g, ({ config, store }) =>
        signInLink(store, config, consoleUrl(config), {
          name: opts.name,
          role: opts.role as (typeof CONSOLE_ROLES)[number],
          minutes: opts.minutes,
          actor: cliActor(),
          now,
        }),
      );
      if (o.json) {
        printJson(o, link);
        return;
      }
      println(
        o,
        `Open this link to sign in to the console as ${opts.name} (${opts.role}); it works once, until ${link.expiresAt}:`,
      );
      println(o, link.url);
    });
}
