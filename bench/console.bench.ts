/**
 * The console's first load on the demo organisation (240 people, `tenure demo --no-serve`), served by
 * `tenure serve`'s own server (startServer) on loopback, for a person with a session:
 * - `browserMs`: Debian's chromium (playwright-core) opening `/` until the dashboard's leavers count is
 *   shown — HTML, scripts, the session and the dashboard's answer, rendered; a new browser context each
 *   time, so nothing is cached. Median of 9.
 * - `httpMs`: the same requests (index.html, its scripts and stylesheet, the dashboard's chunk,
 *   GET /api/session, GET /api/dashboard) by a bare fetch script, one after another. Median of 30.
 * - floor: the same bytes from a bare node:http server holding them in memory; `ratio` is httpMs over it.
 * - the first page's JavaScript, gzipped (issue 13: ≤ 300 kB).
 *   node --import tsx bench/console.bench.ts
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { createSessionService } from "../src/api/auth/session-service.js";
import { startServer } from "../src/api/serve.js";
import { loadConfig } from "../src/policy/config-loader.js";
import { openStore } from "../src/store/database.js";
import { firstPageScripts } from "../test/e2e/console-bundle.js";
import { browserMissing, launchBrowser } from "../test/helpers/browser.js";

const MAIN = fileURLToPath(new URL("../src/cli/main.ts", import.meta.url));

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return Math.round(sorted[Math.floor(sorted.length / 2)]! * 10) / 10;
}

const dir = mkdtempSync(path.join(os.tmpdir(), "tenure-bench-console-"));
try {
  const demo = spawnSync(
    process.execPath,
    ["--import", "tsx", MAIN, "demo", path.join(dir, "org"), "--no-serve", "--json"],
    {
      encoding: "utf8",
    },
  );
  if (demo.status !== 0) throw new Error(`tenure demo failed: ${demo.stderr}`);
  const config = await loadConfig(path.join(dir, "org", "tenure.yaml"));
  const store = await openStore(config.database, { baseDir: config.baseDir });
  const now = () => new Date();
  const server = await startServer({ config, store, now, host: "127.0.0.1", port: 0, logLevel: "silent" });
  try {
    const sessions = createSessionService({ db: store.db, now, sessionHours: 8 });
    const { secret } = await sessions.start({
      name: "bench",
      role: "admin",
      identityId: null,
      via: "token",
      actor: "bench",
    });
    const cookie = `tenure_session=${secret}`;
    const scripts = firstPageScripts();
    const html = await (await fetch(`${server.url}/`)).text();
    const styles = [...html.matchAll(/href="\/(assets\/[^"]+\.css)"/g)].map((m) => m[1]!);
    const paths = ["", ...scripts.files, ...styles, "api/session", "api/dashboard"].map((p) => `/${p}`);

    const load = async (base: string) => {
      const started = performance.now();
      for (const p of paths) {
        const res = await fetch(`${base}${p}`, { headers: { cookie } });
        if (!res.ok) throw new Error(`${p}: ${res.status}`);
        await res.arrayBuffer();
      }
      return performance.now() - started;
    };
    await load(server.url);
    const http30: number[] = [];
    for (let i = 0; i < 30; i++) http30.push(await load(server.url));

    // The floor: the same answers, from memory, by a bare server.
    const bodies = new Map<string, Buffer>();
    for (const p of paths) {
      bodies.set(
        p,
        Buffer.from(await (await fetch(`${server.url}${p}`, { headers: { cookie } })).arrayBuffer()),
      );
    }
    const bare = http.createServer((req, res) => res.end(bodies.get(req.url ?? "") ?? ""));
    await new Promise<void>((resolve) => bare.listen(0, "127.0.0.1", resolve));
    const barePort = (bare.address() as { port: number }).port;
    const floor30: number[] = [];
    await load(`http://127.0.0.1:${barePort}`);
    for (let i = 0; i < 30; i++) floor30.push(await load(`http://127.0.0.1:${barePort}`));
    bare.close();

    let browserMs: number | null = null;
    if (browserMissing() === null) {
      const browser = await launchBrowser();
      try {
        const runs: number[] = [];
        for (let i = 0; i < 9; i++) {
          const context = await browser.newContext();
          await context.addCookies([{ name: "tenure_session", value: secret, url: server.url }]);
          const page = await context.newPage();
          const started = performance.now();
          await page.goto(`${server.url}/`);
          await page.getByTestId("leavers-enabled").waitFor();
          runs.push(performance.now() - started);
          await context.close();
        }
        browserMs = median(runs);
      } finally {
        await browser.close();
      }
    }
    const httpMs = median(http30);
    const floorMs = median(floor30);
    console.log(
      JSON.stringify({
        bench: "console-first-load",
        people: 240,
        browserMs,
        httpMs,
        floorMs,
        ratio: Math.round((httpMs / floorMs) * 10) / 10,
        requests: paths.length,
        firstPageJs: {
          files: scripts.files.length,
          bytes: scripts.bytes,
          gzippedKb: Math.round(scripts.gzipped / 102.4) / 10,
        },
        browserAvailable: existsSync("/usr/bin/chromium"),
      }),
    );
  } finally {
    await server.close();
    await store.close();
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
