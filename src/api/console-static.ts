import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import fastifyStatic from "@fastify/static";
import type { FastifyInstance } from "fastify";

/** Paths the console never answers: the API, the SCIM server, sign-in. */
const NOT_CONSOLE = /^\/(api|scim|auth)(\/|$)/;

/**
 * Where the built console is: `dist/web` beside the compiled server (`dist/api/…`), or, when the server
 * runs from its TypeScript sources (tests, `tsx`), the `dist/web` the build wrote.
 */
function defaultConsoleDir(): string | undefined {
  const here = path.dirname(fileURLToPath(import.meta.url));
  return [path.join(here, "..", "web"), path.join(here, "..", "..", "dist", "web")].find((dir) =>
    existsSync(path.join(dir, "index.html")),
  );
}

/**
 * Serves the web console at `/`: its hashed assets under `/assets/` (cached for a year: a new build has
 * new names), and its index.html for every other GET that is not the API, SCIM or sign-in, so a link
 * to `/identities/E100001` opens that page (the console routes in the browser). Without a build, `/`
 * says how to make one.
 */
export async function registerConsole(app: FastifyInstance, consoleDir = defaultConsoleDir()): Promise<void> {
  const index =
    consoleDir === undefined || !existsSync(path.join(consoleDir, "index.html"))
      ? undefined
      : readFileSync(path.join(consoleDir, "index.html"), "utf8");
  if (consoleDir !== undefined && index !== undefined) {
    await app.register(async (assets) => {
      // The console's files are public, like the login page of any site: the data behind them is not.
      assets.addHook("onRoute", (route) => {
        route.config = { ...route.config, public: true };
      });
      await assets.register(fastifyStatic, {
        root: path.join(consoleDir, "assets"),
        prefix: "/assets/",
        wildcard: false,
        index: false,
        decorateReply: false,
        cacheControl: false,
        setHeaders: (res) => res.header("cache-control", "public, max-age=31536000, immutable"),
      });
    });
  }
  app.decorate("consolePage", (url: string, method: string): string | null => {
    if (method !== "GET" && method !== "HEAD") return null;
    if (NOT_CONSOLE.test(url) || url.startsWith("/assets/")) return null;
    return (
      index ??
      "<!doctype html><title>Tenure</title><p>The console is not built: run <code>npm run build</code>.</p>"
    );
  });
}

declare module "fastify" {
  interface FastifyInstance {
    /** The console's page for a GET to `url` that no route answers, or null when it is not the console's. */
    consolePage(url: string, method: string): string | null;
  }
}
