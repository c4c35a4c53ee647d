import { describe, expect, it } from "vitest";
import { formatConfigIssue, validateConfigText } from "../policy/config-loader.js";
import type { Store } from "../store/database.js";
import { scheduledJobs } from "./scheduled-jobs.js";

const SYSTEMS = [
  "systems:",
  "  app:",
  "    connector: sql",
  "    reconcile: { schedule: '30 2 * * 1-5' }",
  "    config: { url: 'sqlite:./app.db', users: { table: u, id: id, username: login, enabled: { column: active } }, memberships: { table: m, user: u, group: g } }",
  "  desk:",
  "    connector: manual",
  "    config: { fulfiller: helpdesk@example.test }",
  "  quiet:",
  "    connector: sql",
  "    reconcile: { schedule: 'off' }",
  "    config: { url: 'sqlite:./quiet.db', users: { table: u, id: id, username: login, enabled: { column: active } }, memberships: { table: m, user: u, group: g } }",
];

async function load(lines: readonly string[]) {
  return validateConfigText(`${lines.join("\n")}\n`, { path: "/etc/tenure/tenure.yaml", env: {} });
}

describe("scheduledJobs", () => {
  it("makes one job per thing the configuration has, with its pattern", async () => {
    const { config, errors } = await load([
      ...SYSTEMS,
      "notify:",
      "  email: { smtp: 'smtp://127.0.0.1:2525', from: tenure@example.test }",
      "server:",
      "  schedule: { lifecycle: '*/10 * * * *', timeZone: Europe/Paris }",
    ]);
    expect(errors.map(formatConfigIssue)).toEqual([]);
    if (config === undefined) throw new Error("no config");
    const jobs = scheduledJobs({ store: {} as Store, config, now: () => new Date(), actor: "scheduler" });
    expect(jobs.map((j) => [j.name, j.pattern])).toEqual([
      ["lifecycle", "*/10 * * * *"],
      ["reconcile:app", "30 2 * * 1-5"],
      ["reconcile:desk", "0 * * * *"],
      ["reconcile:quiet", "off"],
      ["notify", "* * * * *"],
      ["tasks", "*/15 * * * *"],
    ]);
    expect(config.server.schedule).toMatchObject({
      enabled: true,
      timeZone: "Europe/Paris",
      leaderRetrySeconds: 30,
    });
  });

  it("has no notify job without notify:, and no tasks job without a manual system", async () => {
    const { config } = await load(SYSTEMS.slice(0, 5));
    if (config === undefined) throw new Error("no config");
    const jobs = scheduledJobs({ store: {} as Store, config, now: () => new Date(), actor: "scheduler" });
    expect(jobs.map((j) => j.name)).toEqual(["lifecycle", "reconcile:app"]);
  });

  it("refuses a pattern that is not a recurring cron pattern, at its line, saying what is expected", async () => {
    const { errors } = await load([
      "server:",
      "  schedule:",
      "    lifecycle: '61 * * * *'",
      "    notify: '2026-12-01T09:00:00'",
      "    timeZone: Mars/Olympus",
      "    reconcile: '* *'",
    ]);
    expect(errors.map((e) => [e.path, e.line])).toEqual([
      ["server.schedule.lifecycle", 3],
      ["server.schedule.notify", 4],
      ["server.schedule.timeZone", 5],
      ["server.schedule.reconcile", 6],
    ]);
    expect(errors[0]?.message).toMatch(/^expected a cron pattern of 5 fields/);
    const { errors: systemErrors } = await load([
      "systems:",
      "  app:",
      "    connector: sql",
      "    reconcile: { schedule: hourly }",
      "    config: { url: 'sqlite:./app.db', users: { table: u, id: id, username: login, enabled: { column: active } }, memberships: { table: m, user: u, group: g } }",
    ]);
    expect(systemErrors.map((e) => [e.path, e.line])).toEqual([["systems.app.reconcile.schedule", 4]]);
  });
});
