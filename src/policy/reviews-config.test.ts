import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { workerAttributes } from "../../test/fakes/worker-attributes.js";
import { type ConfigIssue, loadConfig, validateConfigFile } from "./config-loader.js";
import { EMPTY_REVIEW_POLICY } from "./config-schema.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "tenure-reviews-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function write(lines: readonly string[]): Promise<string> {
  const file = join(dir, "tenure.yaml");
  await writeFile(file, `${lines.join("\n")}\n`);
  return file;
}

async function errorsOf(lines: readonly string[]): Promise<string[]> {
  const { config, errors } = await validateConfigFile(await write(lines), { env: {} });
  expect(config).toBeUndefined();
  return errors.map((e: ConfigIssue) => `${e.line}:${e.column} ${e.path}: ${e.message}`);
}

const sqlSystem = (name: string) => [
  `  ${name}:`,
  "    connector: sql",
  `    owner: ${name}-owner@example.test`,
  "    config:",
  `      url: "sqlite:./${name}.db"`,
  "      users: { table: users, id: id, username: login, enabled: { column: active } }",
  "      memberships: { table: members, user: user_id, group: grp }",
];

const base = [
  "systems:", // 1
  ...sqlSystem("erp"), // 2-8
  ...sqlSystem("wiki"), // 9-15
  "entitlements:", // 16
  "  erp:", // 17
  "    vendor-create: {}", // 18
  "    payment-approve: { privileged: true }", // 19
  "  wiki:", // 20
  "    editors: {}", // 21
  "roles:", // 22
  "  ap-clerk:", // 23
  "    grants: [{ system: erp, entitlements: [vendor-create] }]", // 24
  "  wiki-editor:", // 25
  "    grants: [{ system: wiki, entitlements: [editors] }]", // 26
];

/** A campaign reviewed by the manager, with its extra lines; the name line is the first. */
const campaign = (name: string, ...body: string[]) => [`    ${name}:`, "      reviewer: manager", ...body];

describe("reviews: in tenure.yaml", () => {
  it("compiles campaigns with their scope, stages, clock, no-response rule and risk, mover reviews and dormant checks", async () => {
    const file = await write([
      ...base,
      "reviews:", // 27
      "  moverReview: true", // 28
      "  dormant:", // 29
      "    wiki: { afterDays: 90, noticeDays: 14 }", // 30
      "    erp: { afterDays: 30 }", // 31
      "  campaigns:", // 32
      "    quarterly-privileged:", // 33
      "      description: Privileged access, every quarter", // 34
      "      scope:", // 35
      "        systems: [erp]", // 36
      "        entitlements: [erp:payment-approve]", // 37
      "        privilegedOnly: true", // 38
      "        requestedOnly: true", // 39
      "        where: 'department == \"Finance\"'", // 40
      "      reviewer: manager", // 41
      "      secondStage: { reviewer: access-owner }", // 42
      '      schedule: "0 6 1 */3 *"', // 43
      "      durationDays: 21", // 44
      "      remindDaysBefore: [1, 7, 3]", // 45
      "      escalateAfterDays: 10", // 46
      "      onNoResponse: { high: revoke, medium: escalate }", // 47
      "      bulkMaxRisk: medium", // 48
      "      risk: { unusedDays: 60, peerPercent: 5.5 }", // 49
      "    roles-by-hand:", // 50
      "      scope: { roles: [ap-clerk, wiki-editor], keptAfterMove: true }", // 51
      "      reviewer: { person: auditor@example.test }", // 52
      "      schedule: 'off'", // 53
      "    service-accounts:", // 54
      "      scope: { nonHuman: true }", // 55
      "      reviewer: nhi-owner", // 56
      "      onNoResponse: revoke", // 57
    ]);
    const config = await loadConfig(file, { env: {} });
    const reviews = config.reviews;
    expect(reviews?.moverReview).toBe(true);
    expect(reviews?.dormant).toEqual({
      wiki: { system: "wiki", afterDays: 90, noticeDays: 14, location: { file, line: 30, column: 5 } },
      erp: { system: "erp", afterDays: 30, noticeDays: 7, location: { file, line: 31, column: 5 } },
    });
    expect(Object.keys(reviews?.campaigns ?? {})).toEqual([
      "quarterly-privileged",
      "roles-by-hand",
      "service-accounts",
    ]);
    const quarterly = reviews?.campaigns["quarterly-privileged"];
    expect(quarterly).toMatchObject({
      name: "quarterly-privileged",
      description: "Privileged access, every quarter",
      scope: {
        systems: ["erp"],
        entitlements: [{ system: "erp", entitlement: "payment-approve" }],
        roles: [],
        privilegedOnly: true,
        requestedOnly: true,
        keptAfterMove: false,
        nonHuman: false,
      },
      stages: [{ reviewer: { kind: "manager" } }, { reviewer: { kind: "access-owner" } }],
      schedule: "0 6 1 */3 *",
      durationDays: 21,
      remindDaysBefore: [7, 3, 1],
      escalateAfterDays: 10,
      onNoResponse: { high: "revoke", medium: "escalate", low: "keep" },
      bulkMaxRisk: "medium",
      risk: { unusedDays: 60, peerPercent: 5.5 },
      location: { file, line: 33, column: 5 },
    });
    expect(quarterly?.scope.where).toMatchObject({
      source: 'department == "Finance"',
      location: { line: 40, column: 16 },
    });
    expect(quarterly?.scope.where?.evaluate(workerAttributes({ department: "Finance" })).value).toBe(true);
    expect(quarterly?.scope.where?.evaluate(workerAttributes({ department: "Sales" })).value).toBe(false);
    expect(reviews?.campaigns["roles-by-hand"]).toEqual({
      name: "roles-by-hand",
      description: null,
      scope: {
        systems: [],
        entitlements: [],
        roles: ["ap-clerk", "wiki-editor"],
        privilegedOnly: false,
        requestedOnly: false,
        keptAfterMove: true,
        nonHuman: false,
        where: null,
      },
      stages: [{ reviewer: { kind: "person", person: "auditor@example.test" } }],
      schedule: null,
      durationDays: 14,
      remindDaysBefore: [3, 1],
      escalateAfterDays: null,
      onNoResponse: { high: "keep", medium: "keep", low: "keep" },
      bulkMaxRisk: "low",
      risk: { unusedDays: 90, peerPercent: 10 },
      location: { file, line: 50, column: 5 },
    });
    expect(reviews?.campaigns["service-accounts"]).toMatchObject({
      scope: { nonHuman: true },
      stages: [{ reviewer: { kind: "nhi-owner" } }],
      onNoResponse: { high: "revoke", medium: "revoke", low: "revoke" },
    });
  });

  it("is the empty policy when the section is absent or empty, and reminds only inside a short campaign", async () => {
    expect((await loadConfig(await write(base), { env: {} })).reviews).toEqual(EMPTY_REVIEW_POLICY);
    expect((await loadConfig(await write([...base, "reviews: {}"]), { env: {} })).reviews).toEqual(
      EMPTY_REVIEW_POLICY,
    );
    const short = await loadConfig(
      await write([...base, "reviews:", "  campaigns:", ...campaign("quick", "      durationDays: 2")]),
      { env: {} },
    );
    expect(short.reviews?.campaigns.quick?.remindDaysBefore).toEqual([1]);
  });

  it("reports each unknown system, entitlement and role where it is written, with the nearest name", async () => {
    const errors = await errorsOf([
      ...base,
      "reviews:", // 27
      "  dormant:", // 28
      "    wikki: { afterDays: 90 }", // 29
      "  campaigns:", // 30
      ...campaign("access"), // 31-32
      "      scope:", // 33
      "        systems: [epr, erp, wiki]", // 34
      "        entitlements: [erp:payment-aprove, wikki:editors, erp:vendor-create]", // 35
      ...campaign("roles"), // 36-37
      "      scope: { roles: [ap-clerc, nobody-like-this] }", // 38
    ]);
    expect(errors).toEqual([
      "29:5 reviews.dormant.wikki: unknown system 'wikki' — did you mean 'wiki'?",
      "34:19 reviews.campaigns.access.scope.systems[0]: unknown system 'epr' — did you mean 'erp'?",
      "35:24 reviews.campaigns.access.scope.entitlements[0]: unknown entitlement 'payment-aprove' of system 'erp' — did you mean 'payment-approve'?",
      "35:44 reviews.campaigns.access.scope.entitlements[1]: unknown system 'wikki' — did you mean 'wiki'?",
      "38:24 reviews.campaigns.roles.scope.roles[0]: unknown role 'ap-clerc' — did you mean 'ap-clerk'?",
      "38:34 reviews.campaigns.roles.scope.roles[1]: unknown role 'nobody-like-this': no role of that name is defined under roles:",
    ]);
  });

  it("reports filters that leave nothing to review, an nhi-owner outside non-human scope, and the same reviewer twice", async () => {
    const errors = await errorsOf([
      ...base,
      "reviews:", // 27
      "  campaigns:", // 28
      ...campaign("outside"), // 29-30
      "      scope: { systems: [wiki], entitlements: [erp:vendor-create, wiki:editors] }", // 31
      ...campaign("mixed"), // 32-33
      "      scope:", // 34
      "        roles: [ap-clerk]", // 35
      "        entitlements: [erp:vendor-create]", // 36
      "        systems: [erp]", // 37
      "        privilegedOnly: true", // 38
      ...campaign("disjoint"), // 39-40
      "      scope: { requestedOnly: true, keptAfterMove: true }", // 41
      "    nhi:", // 42
      "      reviewer: nhi-owner", // 43
      "      secondStage: { reviewer: nhi-owner }", // 44
      ...campaign("twice"), // 45-46
      "      secondStage: { reviewer: manager }", // 47
      "    same-person:", // 48
      "      reviewer: { person: Cfo@example.test }", // 49
      "      secondStage: { reviewer: { person: cfo@example.test } }", // 50
    ]);
    expect(errors).toEqual([
      "31:48 reviews.campaigns.outside.scope.entitlements[0]: erp:vendor-create is in none of this scope's systems (wiki): every filter must hold, so it would never be reviewed",
      "36:9 reviews.campaigns.mixed.scope.entitlements: entitlements selects entitlement items, and this campaign reviews roles: review roles or entitlements in one campaign, not both",
      "37:9 reviews.campaigns.mixed.scope.systems: systems selects entitlement items, and this campaign reviews roles: review roles or entitlements in one campaign, not both",
      "38:9 reviews.campaigns.mixed.scope.privilegedOnly: privilegedOnly selects entitlement items, and this campaign reviews roles: review roles or entitlements in one campaign, not both",
      "41:37 reviews.campaigns.disjoint.scope.keptAfterMove: requestedOnly and keptAfterMove select different access (granted by a request or elevation, or kept from a previous role after a move): together they would leave nothing to review",
      "43:17 reviews.campaigns.nhi.reviewer: nhi-owner reviews the access of non-human identities only: set scope.nonHuman: true, or choose another reviewer",
      "44:32 reviews.campaigns.nhi.secondStage.reviewer: nhi-owner reviews the access of non-human identities only: set scope.nonHuman: true, or choose another reviewer",
      "44:32 reviews.campaigns.nhi.secondStage.reviewer: the second stage has the same reviewer as the first: it would ask the same person twice",
      "47:32 reviews.campaigns.twice.secondStage.reviewer: the second stage has the same reviewer as the first: it would ask the same person twice",
      "50:32 reviews.campaigns.same-person.secondStage.reviewer: the second stage has the same reviewer as the first: it would ask the same person twice",
    ]);
  });

  it("reports reminders and escalations at or past the deadline, and a dormant notice not before the disabling", async () => {
    const errors = await errorsOf([
      ...base,
      "reviews:", // 27
      "  dormant:", // 28
      "    erp: { afterDays: 30, noticeDays: 30 }", // 29
      "    wiki: { afterDays: 5 }", // 30
      "  campaigns:", // 31
      ...campaign("late"), // 32-33
      "      durationDays: 10", // 34
      "      remindDaysBefore: [12, 9, 10]", // 35
      "      escalateAfterDays: 10", // 36
      ...campaign("default-length"), // 37-38
      "      escalateAfterDays: 30", // 39
    ]);
    expect(errors).toEqual([
      "29:39 reviews.dormant.erp.noticeDays: expected fewer than afterDays (30): the notice goes out noticeDays before the account is disabled, after it was unused for afterDays",
      "30:24 reviews.dormant.wiki.afterDays: expected more than 7 days, the notice period when noticeDays is not written (or write a shorter noticeDays)",
      "35:26 reviews.campaigns.late.remindDaysBefore[0]: expected fewer than durationDays (10): a reminder 12 days before the deadline would come at or before the campaign's start",
      "35:33 reviews.campaigns.late.remindDaysBefore[2]: expected fewer than durationDays (10): a reminder 10 days before the deadline would come at or before the campaign's start",
      "36:26 reviews.campaigns.late.escalateAfterDays: expected fewer than durationDays (10): an escalation 10 days after the start would come at or after the deadline",
      "39:26 reviews.campaigns.default-length.escalateAfterDays: expected fewer than durationDays (14): an escalation 30 days after the start would come at or after the deadline",
    ]);
  });

  it("points a where that does not compile at the offending character", async () => {
    const errors = await errorsOf([
      ...base,
      "reviews:", // 27
      "  campaigns:", // 28
      ...campaign("finance"), // 29-30
      "      scope: { where: \"departmnt == 'Finance'\" }", // 31
    ]);
    expect(errors).toEqual([
      "31:24 reviews.campaigns.finance.scope.where: unknown attribute 'departmnt' — did you mean 'department'?",
    ]);
  });

  it("checks the shape of each campaign: names, keys, reviewers, schedule, days, duplicates, no-response rule", async () => {
    const errors = await errorsOf([
      ...base,
      "reviews:", // 27
      "  moverReview: yes", // 28
      "  dormant:", // 29
      "    erp: { afterDays: 0, noticeDays: -1 }", // 30
      "    wiki: { afterDays: 3651 }", // 31
      "  campaigns:", // 32
      "    Bad_Name: { reviewer: manager }", // 33
      "    shape:", // 34
      "      reviewer: mangaer", // 35
      "      secondStage: { reviewer: { person: ' ' } }", // 36
      '      schedule: "2026-01-01"', // 37
      "      durationDays: 400", // 38
      "      remindDaysBefore: [3, 3, 0]", // 39
      "      onNoResponse: { high: delete, critical: keep }", // 40
      "      bulkMaxRisk: hihg", // 41
      "      risk: { unusedDays: 0, peerPercent: 120 }", // 42
      "      scope:", // 43
      "        systems: [erp, erp]", // 44
      "        entitlements: [vendor-create]", // 45
      "        nonhuman: true", // 46
      "    no-reviewer: { scope: {} }", // 47
      "    other:", // 48
      "      reviewer: { email: a@example.test }", // 49
      "      onNoResponse: remove", // 50
    ]);
    expect(errors).toEqual([
      '28:16 reviews.moverReview: expected true or false, found "yes"',
      "30:23 reviews.dormant.erp.afterDays: expected a whole number of days from 1 to 3650, found 0",
      "30:38 reviews.dormant.erp.noticeDays: expected a whole number of days from 0 to 3649, found -1",
      "31:24 reviews.dormant.wiki.afterDays: expected a whole number of days from 1 to 3650, found 3651",
      "33:5 reviews.campaigns.Bad_Name: invalid name 'Bad_Name': a campaign name starts with a lowercase letter and has only a-z, 0-9, '_' and '-'",
      '35:17 reviews.campaigns.shape.reviewer: expected manager, access-owner, system-owner, nhi-owner, or { person: EMAIL-OR-KEY }, found "mangaer" — did you mean "manager"?',
      '36:42 reviews.campaigns.shape.secondStage.reviewer.person: expected an email address, HR key or identity id, found " "',
      '37:17 reviews.campaigns.shape.schedule: expected a cron pattern of 5 fields (minute hour day-of-month month day-of-week, e.g. "*/5 * * * *"), 6 with seconds first, a nickname such as @hourly, or off, found "2026-01-01"',
      "38:21 reviews.campaigns.shape.durationDays: expected a whole number of days from 1 to 366, found 400",
      "39:29 reviews.campaigns.shape.remindDaysBefore[1]: listed twice in this list, found 3",
      "39:32 reviews.campaigns.shape.remindDaysBefore[2]: expected a whole number of days from 1 to 366, found 0",
      '40:29 reviews.campaigns.shape.onNoResponse.high: expected keep, revoke, escalate, found "delete"',
      "40:37 reviews.campaigns.shape.onNoResponse.critical: unknown key 'critical' — expected one of: high, medium, low",
      '41:20 reviews.campaigns.shape.bulkMaxRisk: expected high, medium, low, found "hihg" — did you mean "high"?',
      "42:27 reviews.campaigns.shape.risk.unusedDays: expected a whole number of days from 1 to 3650, found 0",
      "42:43 reviews.campaigns.shape.risk.peerPercent: expected a percentage from 0 to 100, found 120",
      '44:24 reviews.campaigns.shape.scope.systems[1]: listed twice in this list, found "erp"',
      '45:24 reviews.campaigns.shape.scope.entitlements[0]: expected SYSTEM:KEY, e.g. erp:payment-approve, found "vendor-create"',
      "46:9 reviews.campaigns.shape.scope.nonhuman: unknown key 'nonhuman' — did you mean 'nonHuman'?",
      "47:18 reviews.campaigns.no-reviewer.reviewer: expected manager, access-owner, system-owner, nhi-owner, or { person: EMAIL-OR-KEY }",
      "49:17 reviews.campaigns.other.reviewer.person: expected an email address, HR key or identity id",
      "49:19 reviews.campaigns.other.reviewer.email: unknown key 'email' — expected one of: person",
      '50:21 reviews.campaigns.other.onNoResponse: expected keep, revoke, escalate, or one per risk: { high: …, medium: …, low: … }, found "remove" — did you mean "revoke"?',
    ]);
  });

  it("refuses more than 200 campaigns, and more than 500 entries in one list", async () => {
    const many = Array.from({ length: 201 }, (_, i) => `    c${i}: { reviewer: manager }`);
    expect(await errorsOf([...base, "reviews:", "  campaigns:", ...many])).toEqual([
      "29:5 reviews.campaigns: expected at most 200 campaigns, found a mapping",
    ]);
    const roles = Array.from({ length: 501 }, (_, i) => `r${i}`).join(", ");
    expect(
      await errorsOf([
        ...base,
        "reviews:", // 27
        "  campaigns:", // 28
        ...campaign("big"), // 29-30
        `      scope: { roles: [${roles}] }`, // 31
      ]),
    ).toEqual(["31:23 reviews.campaigns.big.scope.roles: expected at most 500 role names, found a list"]);
  });

  it("runs the reviews tick every 5 minutes unless server.schedule.reviews says otherwise", async () => {
    expect((await loadConfig(await write(base), { env: {} })).server.schedule.reviews).toBe("*/5 * * * *");
    const hourly = await loadConfig(await write([...base, "server:", "  schedule: { reviews: '@hourly' }"]), {
      env: {},
    });
    expect(hourly.server.schedule.reviews).toBe("@hourly");
    const errors = await errorsOf([...base, "server:", "  schedule: { reviews: '*/5 * *' }"]);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^28:24 server\.schedule\.reviews: expected a cron pattern/);
  });

  it("loads the example of docs/configuration.md as written", async () => {
    const doc = await readFile(
      fileURLToPath(new URL("../../docs/configuration.md", import.meta.url)),
      "utf8",
    );
    const section = doc.slice(doc.indexOf("## `reviews`"));
    const yaml = /```yaml\n([\s\S]*?)```/.exec(section)?.[1] ?? "";
    expect(yaml.startsWith("reviews:")).toBe(true);
    const config = await loadConfig(await write([...base, ...yaml.trimEnd().split("\n")]), { env: {} });
    expect(Object.keys(config.reviews?.campaigns ?? {})).toEqual([
      "quarterly-privileged",
      "finance-apps",
      "service-accounts",
    ]);
    expect(config.reviews?.moverReview).toBe(true);
  });
});
