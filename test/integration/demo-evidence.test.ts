import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCliInProcess } from "../helpers/cli-in-process.js";
import { tempDir } from "../helpers/workspace.js";

/**
 * The evidence pack of the demo organisation, built as `npm run demo` builds it (`tenure demo`: a week
 * of joiners, movers and leavers in three applications, reconcile, an SoD scan, this quarter's review),
 * then `tenure evidence` for the quarter covering that week: every file the manifest lists holds the
 * bytes its SHA-256 names, the index maps the reports to the SOC 2 and ISO 27001 controls, the ledger
 * verified with its head, and the reports hold the demo's known leavers, violation and campaign.
 */
const env = { TENURE_NOW: "2026-11-21T10:00:00Z" };

interface Summary {
  story: { leavers: string[]; departed: string[] };
  sod: { open: number };
  reviews: Array<{ id: string; definition: string; items: number }>;
}
interface PackJson {
  period: { label: string; from: string; to: string };
  files: Array<{ file: string; sha256: string; bytes: number; controls: string[] }>;
  ledger: { ok: boolean; checked: number; headSeq: number; headHash: string; problem: string | null };
  configurations: Array<{ hash: string }>;
  alerts: string[];
}
type Rows = Array<Record<string, unknown>>;

describe("the evidence pack of the demo organisation", () => {
  let dir: string;
  let dispose: () => Promise<void>;
  let summary: Summary;
  let pack: PackJson;
  let out: string;
  const read = (file: string) => readFile(path.join(out, file), "utf8");
  const rowsOf = async (name: string): Promise<Rows> =>
    JSON.parse(await read(`reports/${name}.json`)).rows as Rows;

  beforeAll(async () => {
    ({ dir, dispose } = await tempDir("tenure-demo-evidence-"));
    const ws = path.join(dir, "org");
    const started = performance.now();
    const demo = await runCliInProcess(["demo", ws, "--size", "120", "--no-serve", "--json"], { env });
    expect(demo.code, demo.stderr).toBe(0);
    summary = JSON.parse(demo.stdout);
    const built = performance.now();
    out = path.join(dir, "pack");
    const evidence = await runCliInProcess(
      ["--config", path.join(ws, "tenure.yaml"), "evidence", "--period", "2026-Q4", "--out", out, "--json"],
      { env },
    );
    expect(evidence.code, evidence.stderr).toBe(0);
    pack = JSON.parse(evidence.stdout);
    console.info(
      `demo built in ${Math.round(built - started)} ms, evidence pack in ${Math.round(performance.now() - built)} ms`,
    );
  }, 180_000);
  afterAll(() => dispose());

  it("lists in its manifest every file it wrote, each with the SHA-256 of its bytes", async () => {
    const manifest = (await read("MANIFEST.sha256")).trim().split("\n");
    expect(manifest.length).toBe(pack.files.length);
    const listed = manifest.map((line) => {
      const [sum, file] = line.split("  ");
      return { sum: sum!, file: file! };
    });
    expect(listed.map((l) => l.file)).toEqual(pack.files.map((f) => f.file));
    expect(listed.slice(-2).map((l) => l.file)).toEqual(["index.json", "INDEX.md"]);
    for (const { sum, file } of listed) {
      const bytes = await readFile(path.join(out, file));
      expect(createHash("sha256").update(bytes).digest("hex"), file).toBe(sum);
    }
    for (const name of ["leavers", "privileged-access", "sod-violations", "campaigns", "access-changes"])
      for (const format of ["html", "csv", "json"])
        expect(listed.map((l) => l.file)).toContain(`reports/${name}.${format}`);
  });

  it("verified the ledger end to end and names its head, in the pack and in its index", async () => {
    expect(pack.period).toEqual({
      label: "2026-Q4",
      from: "2026-10-01T00:00:00.000Z",
      to: "2027-01-01T00:00:00.000Z",
    });
    expect(pack.ledger).toMatchObject({ ok: true, problem: null });
    expect(pack.ledger.checked).toBe(pack.ledger.headSeq);
    expect(pack.ledger.headHash).toMatch(/^[0-9a-f]{64}$/);
    const verification = JSON.parse(await read("ledger/verification.json"));
    expect(verification).toMatchObject({
      ok: true,
      headSeq: pack.ledger.headSeq,
      headHash: pack.ledger.headHash,
    });
    const index = await read("INDEX.md");
    expect(index).toContain(`hash \`${pack.ledger.headHash}\``);
    // Both runs of the demo week used the one configuration: it is in the pack by its hash.
    expect(pack.configurations).toHaveLength(1);
    const config = pack.files.find((f) => f.file.startsWith("configuration/"))!;
    expect(config.file).toBe(`configuration/2026-11-14-${pack.configurations[0]!.hash.slice(0, 12)}.yaml`);
  });

  it("maps each report to the SOC 2 CC6.1–CC6.3 / CC7.2 and ISO 27001 A.5.15–A.5.18 / A.8.2 controls", async () => {
    const index = await read("INDEX.md");
    const byControl = new Map(
      [...index.matchAll(/^- \*\*(.+?)\*\*: (.*)$/gm)].map((m) => [m[1]!, m[2]!.split(", ")]),
    );
    expect([...byControl.keys()]).toEqual([
      "ISO 27001 A.5.15",
      "ISO 27001 A.5.16",
      "ISO 27001 A.5.17",
      "ISO 27001 A.5.18",
      "ISO 27001 A.8.2",
      "SOC 2 CC6.1",
      "SOC 2 CC6.2",
      "SOC 2 CC6.3",
      "SOC 2 CC7.2",
    ]);
    expect(byControl.get("SOC 2 CC6.2")).toContain("`reports/leavers.*`");
    expect(byControl.get("ISO 27001 A.8.2")).toEqual(["`reports/privileged-access.*`"]);
    expect(byControl.get("SOC 2 CC7.2")).toEqual(
      expect.arrayContaining(["`reports/access-changes.*`", "`ledger/verification.*`"]),
    );
    expect(byControl.get("ISO 27001 A.5.15")).toEqual(expect.arrayContaining(["`reports/sod-violations.*`"]));
    const machine = JSON.parse(await read("index.json"));
    expect(machine.files.find((f: { file: string }) => f.file === "reports/leavers.csv").controls).toEqual([
      "SOC 2 CC6.2",
      "SOC 2 CC6.3",
      "ISO 27001 A.5.16",
      "ISO 27001 A.5.18",
    ]);
  });

  it("holds the demo's leavers, each deprovisioned in every application the day they left", async () => {
    const rows = await rowsOf("leavers");
    const leavers = [...summary.story.leavers, ...summary.story.departed].sort();
    expect(leavers).toHaveLength(6);
    expect([...new Set(rows.map((r) => r.employeeId))].sort()).toEqual(leavers);
    for (const r of rows) {
      expect(r).toMatchObject({ status: "within SLA", how: "disable" });
      expect(r.terminatedAt).toBe("2026-11-21T10:00:00.000Z");
      expect(r.hours).toBe(0);
    }
    const csv = (await read("reports/leavers.csv")).trim().split("\n");
    expect(csv).toHaveLength(rows.length + 1);
    expect(JSON.parse(await read("reports/leavers.json")).summary).toMatchObject({
      leavers: 6,
      fullyDeprovisioned: 6,
      outstanding: 0,
      slaBreached: 0,
    });
    expect(await rowsOf("terminated-enabled")).toEqual([]);
  });

  it("holds the demo's out-of-band changes: the orphan, the admin grant nobody approved, the SoD violation, the open review", async () => {
    expect((await rowsOf("orphan-accounts")).map((r) => r.system)).toEqual(["wiki"]);
    const found = (await rowsOf("privileged-access")).filter((r) => r.grantedBy === "found in the system");
    expect(found).toEqual([expect.objectContaining({ system: "deploy", entitlement: "admins" })]);
    const violations = await rowsOf("sod-violations");
    expect(violations).toEqual([
      expect.objectContaining({ rule: "payroll-production", severity: "high", status: "open" }),
    ]);
    expect(summary.sod.open).toBe(1);
    const [review] = summary.reviews;
    expect(await rowsOf("campaigns")).toEqual([
      expect.objectContaining({
        campaign: review!.id,
        definition: "quarterly-privileged",
        status: "open",
        itemsAtStart: review!.items,
      }),
    ]);
    expect(pack.files.filter((f) => f.file.startsWith("reviews/")).map((f) => f.file)).toEqual([
      `reviews/2026-11-21-quarterly-privileged-${review!.id.slice(0, 8)}.csv`,
    ]);
  });
});
