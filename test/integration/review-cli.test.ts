/**
 * `tenure review` as a user runs it, on an SQLite store made by `tenure init` and `tenure sync`, with a
 * campaign and its items written through the repositories (generation has its own tests): campaigns
 * and items listed (riskiest first, a reviewer's own), decisions one at a time and in bulk, the
 * refusals (own access, no decision flag, closed campaign) with their exit codes, an item and a
 * campaign shown, the auditors' CSV with a formula-looking comment escaped, and closing.
 */
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ReviewAccess } from "../../src/domain/review-types.js";
import { loadConfig } from "../../src/policy/config-loader.js";
import { openStore } from "../../src/store/database.js";
import { identityRepository } from "../../src/store/identity-repository.js";
import {
  accessKeyOf,
  type ReviewItem,
  reviewCampaignRepository,
  reviewItemRepository,
} from "../../src/store/review-repository.js";
import { moverDefinition } from "../../src/workflows/mover-review.js";
import { runCli } from "../helpers/cli.js";
import { testReviewItem } from "../helpers/review-item.js";
import { tempDir, writeHrCsv } from "../helpers/workspace.js";

const YAML = `
database: sqlite:./tenure.db
sources:
  hr:
    type: csv
    path: ./hr.csv
systems:
  legacy:
    connector: manual
    account:
      attributes: { email: "{email}" }
    config:
      fulfiller: it-desk@example.test
entitlements:
  legacy:
    readers: {}
    admins: { privileged: true }
roles:
  staff:
    when: "employmentType == 'employee'"
    grants: [{ system: legacy, entitlements: [readers] }]
reviews:
  campaigns:
    managers:
      description: Everyone's access, by their manager
      reviewer: manager
`;

const PEOPLE = [
  "E1,Ada,Lovelace,ada@example.test,Engineering,SRE,,employee,active,2026-01-05,,",
  "E2,Grace,Hopper,grace@example.test,Sales,AE,E1,employee,active,2026-01-05,,",
  "E4,Cy,Contract,cy@example.test,Sales,AE,E1,employee,active,2026-01-05,,",
];
const NOW = "2026-03-02T10:00:00.000Z";
const env = { TENURE_NOW: NOW };

function item(id: string, holder: string, reviewer: string, access: ReviewAccess, score: number): ReviewItem {
  return testReviewItem({
    id,
    campaignId: "c1",
    identityId: holder,
    access,
    accessKey: accessKeyOf(access),
    privileged: score >= 70,
    risk: {
      score,
      level: score >= 70 ? "high" : "low",
      reasons: score >= 70 ? [{ code: "privileged", detail: "privileged entitlement", weight: score }] : [],
      recommendation: "keep",
    },
    reviewerId: reviewer,
    createdAt: NOW,
  });
}

describe("tenure review", () => {
  let dir: string;
  let dispose: () => Promise<void>;
  const cli = (...args: string[]) => runCli(args, { cwd: dir, env });
  const ids = (stdout: string) => (JSON.parse(stdout).items as { id: string }[]).map((i) => i.id);

  beforeAll(async () => {
    ({ dir, dispose } = await tempDir("tenure-review-cli-"));
    await writeFile(path.join(dir, "tenure.yaml"), YAML);
    await writeHrCsv(dir, PEOPLE);
    expect((await runCli(["init"], { cwd: dir })).code).toBe(0);
    expect((await cli("sync")).code).toBe(0);
    const config = await loadConfig(path.join(dir, "tenure.yaml"));
    const store = await openStore(config.database, { baseDir: dir });
    try {
      const id = async (key: string) => (await identityRepository.resolve(store.db, key))!.id;
      const [ada, grace, cy] = [await id("E1"), await id("E2"), await id("E4")];
      const readers: ReviewAccess = { kind: "entitlement", system: "legacy", entitlement: "readers" };
      const admins: ReviewAccess = { kind: "entitlement", system: "legacy", entitlement: "admins" };
      await reviewCampaignRepository.insert(store.db, {
        id: "c1",
        definition: "managers",
        kind: "ad-hoc",
        status: "open",
        settings: {
          ...moverDefinition(config),
          name: "managers",
          onNoResponse: { high: "keep", medium: "keep", low: "keep" },
        },
        subjectIdentityId: null,
        startedAt: NOW,
        startedBy: "test",
        deadline: "2026-03-16T10:00:00.000Z",
        closedAt: null,
        closedBy: null,
        items: 4,
      });
      await reviewItemRepository.insertMany(store.db, [
        item("i-grace", grace, ada, readers, 10),
        item("i-cy", cy, ada, readers, 20),
        item("i-cy-admins", cy, ada, admins, 75),
        item("i-ada-admins", ada, ada, admins, 80),
      ]);
    } finally {
      await store.close();
    }
  });
  afterAll(() => dispose());

  it("lists campaigns, a campaign's items riskiest first, and a reviewer's own", async () => {
    const campaigns = await cli("review", "list", "--json");
    expect(campaigns.code).toBe(0);
    expect(JSON.parse(campaigns.stdout).campaigns).toEqual([
      expect.objectContaining({ id: "c1", definition: "managers", total: 4, pending: 4, mine: null }),
    ]);
    const table = await cli("review", "list", "--as", "E1");
    expect(table.stdout).toMatch(/^ID\s+CAMPAIGN\s+KIND\s+STATUS\s+DEADLINE\s+PENDING\s+TOTAL\s+MINE/);
    expect(table.stdout).toMatch(/c1\s+managers\s+ad-hoc\s+open\s+2026-03-16T10:00:00.000Z\s+4\s+4\s+4/);

    const items = await cli("review", "list", "--campaign", "c1", "--json");
    expect(ids(items.stdout)).toEqual(["i-ada-admins", "i-cy-admins", "i-cy", "i-grace"]);
    expect(JSON.parse(items.stdout).items[0]).toMatchObject({
      holder: { name: "Ada Lovelace", employeeId: "E1" },
      label: "legacy:admins",
      reviewer: { name: "Ada Lovelace" },
    });
    expect(ids((await cli("review", "list", "--mine", "--as", "E2", "--json")).stdout)).toEqual([]);
    expect(
      ids((await cli("review", "list", "--mine", "--as", "E1", "--limit", "1", "--json")).stdout),
    ).toEqual(["i-ada-admins"]);

    const noWho = await cli("review", "list", "--mine");
    expect(noWho.code).toBe(2);
    expect(noWho.stderr).toContain("--mine needs --as");
    expect((await cli("review", "list", "--campaign", "c1", "--state", "maybe")).code).toBe(2);
  });

  it("decides one item and several, refusing one's own access and a missing decision", async () => {
    const one = await cli(
      "review",
      "decide",
      "i-grace",
      "--certify",
      "--comment",
      "=cmd|' /C calc'!A0",
      "--as",
      "ada@example.test",
      "--json",
    );
    expect(one.code).toBe(0);
    expect(JSON.parse(one.stdout).decided).toEqual([
      expect.objectContaining({
        id: "i-grace",
        state: "certified",
        decidedAt: NOW,
        decidedBy: expect.objectContaining({ name: "Ada Lovelace" }),
      }),
    ]);

    const own = await cli("review", "decide", "i-ada-admins", "--certify", "--as", "E1");
    expect(own.code).toBe(1);
    expect(own.stderr).toContain("nobody reviews their own access; nothing was changed");

    const neither = await cli("review", "decide", "i-cy", "--as", "E1");
    expect(neither.code).toBe(2);
    expect(neither.stderr).toContain("exactly one of --certify and --revoke");
    expect((await cli("review", "decide", "i-cy", "--certify")).code).toBe(2);

    // A privileged item is never decided in bulk: the whole batch is refused.
    const privileged = await cli(
      "review",
      "decide",
      "i-cy",
      "i-cy-admins",
      "--revoke",
      "--comment",
      "left the team",
      "--as",
      "E1",
    );
    expect(privileged.code).toBe(1);
    expect(privileged.stderr).toContain("is privileged: decide it on its own");

    const revoked = await cli(
      "review",
      "decide",
      "i-cy-admins",
      "--revoke",
      "--comment",
      "not an admin",
      "--as",
      "E1",
    );
    expect(revoked.code).toBe(0);
    expect(revoked.stdout).toContain("legacy:admins for Cy Contract: revoked (item i-cy-admins)");
    // What carries the removal out, said where the reviewer is left wondering.
    expect(revoked.stdout).toContain("the removal follows: `tenure serve` carries it out within 30 s");
    expect(revoked.stdout).toContain("`tenure review show i-cy-admins`");

    const shown = await cli("review", "show", "i-cy-admins");
    expect(shown.stdout).toContain("item i-cy-admins: Cy Contract (E4) holds legacy:admins [privileged]");
    expect(shown.stdout).toContain("privileged entitlement (+75)");
    expect(shown.stdout).toMatch(/revoked at 2026-03-02T10:00:00.000Z by Ada Lovelace — not an admin/);
  });

  it("reports a campaign as CSV (formulas escaped) and JSON, and closes it", async () => {
    const csv = await cli("review", "report", "c1");
    expect(csv.code).toBe(0);
    const lines = csv.stdout.trim().split("\n");
    expect(lines[0]).toMatch(/^item,campaign,employeeId,holder,access,/);
    expect(lines.find((l) => l.startsWith("i-grace,"))).toContain(`,'=cmd|' /C calc'!A0,`);

    const file = path.join(dir, "report.json");
    const json = await cli("review", "report", "c1", "--format", "json", "--output", file);
    expect(json.code).toBe(0);
    const report = JSON.parse(await readFile(file, "utf8"));
    expect(report.report).toMatchObject({
      total: 4,
      decided: 2,
      byState: { certified: 1, revoked: 1, pending: 2 },
    });
    expect(report.rows).toHaveLength(4);

    const shown = await cli("review", "show", "c1", "--json");
    expect(JSON.parse(shown.stdout)).toMatchObject({
      campaign: { id: "c1", pending: 2 },
      report: { completion: 50 },
    });

    const closed = await cli("review", "close", "c1", "--json");
    expect(closed.code).toBe(0);
    expect(JSON.parse(closed.stdout)).toMatchObject({
      campaign: { status: "closed", closedAt: NOW },
      report: { byState: { "kept-no-response": 2 } },
    });
    const late = await cli("review", "decide", "i-cy", "--certify", "--as", "E1");
    expect(late.code).toBe(1);
    expect(late.stderr).toContain("decisions are no longer taken");
    expect((await cli("review", "show", "nope")).code).toBe(1);
  });

  it("starts a campaign of the configuration by name, and refuses a name it does not define", async () => {
    const unknown = await cli("review", "start", "nope");
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('no review campaign "nope"');
    const started = await cli("review", "start", "managers", "--json");
    expect(started.code, started.stderr).toBe(0);
    const out = JSON.parse(started.stdout);
    expect(out.campaign).toMatchObject({ definition: "managers", kind: "ad-hoc", status: "open" });
    expect(out.items).toBe(out.campaign.total);
  });
});
