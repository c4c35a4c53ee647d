import { spawn } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { tempDir } from "../helpers/workspace.js";

describe("tenure demo", () => {
  let dir: string;
  let dispose: () => Promise<void>;
  beforeAll(async () => {
    ({ dir, dispose } = await tempDir("tenure-demo-"));
  });
  afterAll(() => dispose());

  it("builds an organisation with three applications and a week of joiners, movers and leavers", async () => {
    const env = { TENURE_NOW: "2026-11-21T10:00:00Z" };
    const ws = path.join(dir, "org");
    const demo = await runCli(["demo", ws, "--size", "120", "--no-serve", "--json"], { env });
    expect(demo.code).toBe(0);
    const summary = JSON.parse(demo.stdout);
    expect(summary.people).toBe(120);
    expect(summary.story.movers).toHaveLength(6);
    expect(summary.lastWeek.operations.dead).toBe(0);
    expect(summary.lastWeek.operations.succeeded).toBeGreaterThan(150);
    expect(summary.today.transitions["active→terminated"]).toBeGreaterThanOrEqual(6);
    const bySystem = Object.fromEntries(summary.reconcile.map((r: { system: string }) => [r.system, r]));
    // The out-of-band changes the demo makes are found: an orphan in the wiki, an admin grant in deploy.
    expect(bySystem.wiki.orphans).toBe(1);
    expect(bySystem.deploy.drift).toBe(1);

    const config = ["--config", path.join(ws, "tenure.yaml")];
    const plan = await runCli([...config, "plan", "--json"], { env });
    const ops = JSON.parse(plan.stdout).operations;
    // deploy enforces drift, so the admin grant nobody approved is planned for revocation.
    expect(ops).toEqual([
      expect.objectContaining({ system: "deploy", kind: "revoke", entitlement: "admins", drift: true }),
    ]);

    // Previewing a date half a year out: contractors' end dates pass, so their accounts are disabled.
    const future = JSON.parse(
      (await runCli([...config, "plan", "--at", "2027-06-30", "--json"], { env })).stdout,
    );
    expect(future.operations.filter((o: { kind: string }) => o.kind === "disable").length).toBeGreaterThan(0);

    // Policy simulation: a proposed tenure.yaml is planned against the same systems, changing nothing.
    const proposed = path.join(ws, "proposed.yaml");
    const text = await readFile(path.join(ws, "tenure.yaml"), "utf8");
    await writeFile(
      proposed,
      text.replace(`when: "department == 'Engineering'"`, `when: "department == 'Support'"`),
    );
    const blast = JSON.parse((await runCli(["--config", proposed, "plan", "--json"], { env })).stdout);
    const kinds = new Set(
      blast.operations.map((o: { kind: string; entitlement: string }) => `${o.kind} ${o.entitlement}`),
    );
    expect(kinds.has("grant deployers")).toBe(true);
    expect(kinds.has("revoke deployers")).toBe(true);
    const after = JSON.parse((await runCli([...config, "plan", "--json"], { env })).stdout);
    expect(after.operations).toHaveLength(1);

    const mover = summary.story.movers[0];
    const explain = await runCli([...config, "explain", mover], { env });
    expect(explain.code).toBe(0);
    expect(explain.stdout).toMatch(/role employee: .* is true/);
    const verify = await runCli([...config, "audit", "verify", "--json"], { env });
    expect(JSON.parse(verify.stdout).ok).toBe(true);
  });

  it("serves the console and the API on the demo organisation, with a one-time link and an admin token, until stopped", async () => {
    const ws = path.join(dir, "served");
    const child = spawn(
      process.execPath,
      [
        "--import",
        import.meta.resolve("tsx"),
        fileURLToPath(new URL("../../src/cli/main.ts", import.meta.url)),
        "demo",
        ws,
        "--size",
        "80",
        "--port",
        "0",
      ],
      { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, TENURE_NOW: "2026-11-21T10:00:00Z" } },
    );
    let stdout = "";
    child.stdout.on("data", (d) => {
      stdout += d;
    });
    child.stderr.resume();
    const exited = new Promise<number | null>((resolve) => child.on("exit", resolve));
    try {
      const deadline = Date.now() + 60_000;
      while (!/Ctrl-C stops it/.test(stdout)) {
        if (Date.now() > deadline) throw new Error(`the demo did not start serving: ${stdout}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      const url = /serves this organisation at (http:\/\/\S+)/.exec(stdout)?.[1];
      const token = /admin token: (tnr_\S+)/.exec(stdout)?.[1];
      expect(url).toBeDefined();
      expect(token).toBeDefined();
      const res = await fetch(`${url}/api/identities?limit=500`, {
        headers: { authorization: `Bearer ${token}` },
      });
      expect(res.status).toBe(200);
      expect(((await res.json()) as { items: unknown[] }).items.length).toBeGreaterThanOrEqual(80);
      expect((await fetch(`${url}/api/identities`)).status).toBe(401);

      // The console: its page at /, and the printed one-time link signing the newcomer in to the dashboard.
      const page = await fetch(`${url}/`);
      expect(page.headers.get("content-type")).toContain("text/html");
      const link = /sign in once with this link \(valid 15 minutes\): (http:\/\/\S+)/.exec(stdout)?.[1];
      expect(link).toBeDefined();
      const signedIn = await fetch(link!, { redirect: "manual" });
      expect(signedIn.status).toBe(303);
      const cookie = (signedIn.headers.get("set-cookie") ?? "").split(";")[0]!;
      expect(cookie).toMatch(/^tenure_session=/);
      const dashboard = await fetch(`${url}/api/dashboard`, { headers: { cookie } });
      expect(dashboard.status).toBe(200);
      expect(
        ((await dashboard.json()) as { identities: { total: number } }).identities.total,
      ).toBeGreaterThanOrEqual(80);
      expect((await fetch(link!, { redirect: "manual" })).status).toBe(404);
    } finally {
      child.kill("SIGTERM");
    }
    expect(await exited).toBe(0);
  });
});
