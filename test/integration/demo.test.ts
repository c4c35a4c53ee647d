import { spawn } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI_ENTRY } from "../helpers/cli.js";
import { runCliInProcess } from "../helpers/cli-in-process.js";
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
    const demo = await runCliInProcess(["demo", ws, "--size", "120", "--no-serve", "--json"], { env });
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
    const plan = await runCliInProcess([...config, "plan", "--json"], { env });
    const ops = JSON.parse(plan.stdout).operations;
    // deploy and payroll enforce drift, so the grants nobody approved are planned for revocation.
    expect(ops).toEqual([
      expect.objectContaining({ system: "payroll", kind: "revoke", entitlement: "clerk", drift: true }),
      expect.objectContaining({ system: "deploy", kind: "revoke", entitlement: "admins", drift: true }),
    ]);
    expect(bySystem.payroll.drift).toBe(1);

    // The production administrator let into payroll by hand breaks the demo's separation-of-duties rule.
    expect(summary.sod.open).toBe(1);
    const violations = JSON.parse(
      (await runCliInProcess([...config, "sod", "violations", "--json"], { env })).stdout,
    );
    const [finding] = violations.violations;
    expect(finding).toMatchObject({ rule: "payroll-production", severity: "high", status: "open" });
    const why = finding.sides.flatMap((s: { why: string[] }) => s.why).join(" | ");
    expect(why).toContain("not granted by Tenure");
    expect(why).toContain("birthright role sre");
    const csv = await runCliInProcess([...config, "sod", "report", "violations"], { env });
    expect(csv.code).toBe(0);
    expect(csv.stdout.split("\n")[0]).toMatch(/^violation,employeeId,holder,rule,severity,status/);
    expect(csv.stdout).toContain("payroll-production");
    // Nobody accepts their own violation, whatever they say.
    const self = await runCliInProcess(
      [
        ...config,
        "sod",
        "accept",
        finding.id,
        "--as",
        finding.holder.employeeId,
        "--admin",
        "--reason",
        "mine",
        "--until",
        "2026-12-01",
      ],
      { env },
    );
    expect(self.code).toBe(1);
    expect(self.stderr).toContain("nobody accepts their own violation");

    // This quarter's access review of privileged access is open, its items waiting for managers.
    expect(summary.reviews).toEqual([expect.objectContaining({ definition: "quarterly-privileged" })]);
    const [campaign] = summary.reviews;
    expect(campaign.items).toBeGreaterThan(0);
    const campaigns = JSON.parse(
      (await runCliInProcess([...config, "review", "list", "--json"], { env })).stdout,
    );
    expect(campaigns.campaigns).toEqual([
      expect.objectContaining({
        id: campaign.id,
        definition: "quarterly-privileged",
        status: "open",
        total: campaign.items,
        pending: campaign.items,
      }),
    ]);
    const listed = await runCliInProcess([...config, "review", "list", "--campaign", campaign.id, "--json"], {
      env,
    });
    type Item = {
      id: string;
      holder: { id: string; employeeId: string };
      reviewer: { id: string } | null;
      label: string;
      source: string;
      privileged: boolean;
      state: string;
      risk: { level: string; reasons: { code: string }[]; recommendation: string };
    };
    const items: Item[] = JSON.parse(listed.stdout).items;
    expect(items).toHaveLength(campaign.items);
    expect(items.every((i) => i.privileged && i.state === "pending")).toBe(true);
    // Nobody reviews their own access; an item whose holder has no manager waits for an admin.
    expect(items.every((i) => i.reviewer?.id !== i.holder.id)).toBe(true);
    expect(items.filter((i) => i.reviewer === null)).toHaveLength(campaign.noReviewer);
    // The production administrator let into payroll: their admin access is in the SoD violation, and
    // the admin grant nobody approved (found in deploy only) is recommended for revocation.
    const inViolation = items.find(
      (i) => i.holder.employeeId === finding.holder.employeeId && i.label === "deploy:admins",
    );
    expect(inViolation?.risk.reasons.map((r) => r.code)).toContain("sod-violation");
    expect(inViolation?.risk.recommendation).toBe("revoke");
    expect(items.find((i) => i.source === "found")).toMatchObject({
      label: "deploy:admins",
      risk: { level: "high", recommendation: "revoke" },
    });
    const own = items.find((i) => i.reviewer !== null)!;
    const selfReview = await runCliInProcess(
      [...config, "review", "decide", own.id, "--revoke", "--comment", "x", "--as", own.holder.id],
      { env },
    );
    expect(selfReview.code).toBe(1);
    expect(selfReview.stderr).toContain("nobody reviews their own access");
    // The demo's start counts as this quarter's: the scheduler starts the next one in January.
    const status = JSON.parse(
      (await runCliInProcess([...config, "schedule", "status", "--json"], { env })).stdout,
    );
    expect(status.jobs).toContainEqual(
      expect.objectContaining({ job: "review:quarterly-privileged", nextDue: "2027-01-01T06:00:00.000Z" }),
    );

    // Previewing a date half a year out: contractors' end dates pass, so their accounts are disabled.
    const future = JSON.parse(
      (await runCliInProcess([...config, "plan", "--at", "2027-06-30", "--json"], { env })).stdout,
    );
    expect(future.operations.filter((o: { kind: string }) => o.kind === "disable").length).toBeGreaterThan(0);

    // Policy simulation: a proposed tenure.yaml is planned against the same systems, changing nothing.
    const proposed = path.join(ws, "proposed.yaml");
    const text = await readFile(path.join(ws, "tenure.yaml"), "utf8");
    await writeFile(
      proposed,
      text.replace(`when: "department == 'Engineering'"`, `when: "department == 'Support'"`),
    );
    const blast = JSON.parse(
      (await runCliInProcess(["--config", proposed, "plan", "--json"], { env })).stdout,
    );
    const kinds = new Set(
      blast.operations.map((o: { kind: string; entitlement: string }) => `${o.kind} ${o.entitlement}`),
    );
    expect(kinds.has("grant deployers")).toBe(true);
    expect(kinds.has("revoke deployers")).toBe(true);
    const after = JSON.parse((await runCliInProcess([...config, "plan", "--json"], { env })).stdout);
    expect(after.operations).toHaveLength(2);

    // A role edit that would put production administrators in payroll: the plan names each one it
    // would newly put in violation, before the change is merged.
    const risky = path.join(ws, "risky.yaml");
    await writeFile(
      risky,
      text.replace(
        `when: "department == 'Finance'"`,
        `when: "department == 'Finance' || department == 'Engineering'"`,
      ),
    );
    const riskyPlan = JSON.parse(
      (await runCliInProcess(["--config", risky, "plan", "--json"], { env })).stdout,
    );
    expect(riskyPlan.sod.newViolations.length).toBeGreaterThan(0);
    expect(riskyPlan.sod.newViolations[0]).toMatchObject({ rule: "payroll-production", severity: "high" });

    const mover = summary.story.movers[0];
    const explain = await runCliInProcess([...config, "explain", mover], { env });
    expect(explain.code).toBe(0);
    expect(explain.stdout).toMatch(/role employee: .* is true/);
    const verify = await runCliInProcess([...config, "audit", "verify", "--json"], { env });
    expect(JSON.parse(verify.stdout).ok).toBe(true);
  }, 180_000);

  it("serves the console and the API on the demo organisation, with a one-time link and an admin token, until stopped", async () => {
    const ws = path.join(dir, "served");
    const child = spawn(process.execPath, [...CLI_ENTRY, "demo", ws, "--size", "80", "--port", "0"], {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, TENURE_NOW: "2026-11-21T10:00:00Z" },
    });
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
