import { writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
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
      slaHours: 4
roles:
  staff:
    when: "employmentType == 'employee'"
    grants: [{ system: legacy, entitlements: [] }]
`;

const ADA = "E1,Ada,Lovelace,ada@example.test,Engineering,SRE,,employee,active,2026-01-05,,";
const at = (iso: string) => ({ TENURE_NOW: iso });

interface ListedTask {
  id: string;
  kind: string;
  state: string;
  overdue: boolean;
  ageHours: number;
  instructions: string;
}

describe("tenure tasks", () => {
  let dir: string;
  let dispose: () => Promise<void>;
  let task: ListedTask;
  beforeAll(async () => {
    ({ dir, dispose } = await tempDir("tenure-tasks-cli-"));
    await writeFile(path.join(dir, "tenure.yaml"), YAML);
    await writeHrCsv(dir, [ADA]);
    // Only init creates the database; every other command refuses a store without Tenure's schema.
    expect((await runCli(["init"], { cwd: dir })).code).toBe(0);
  });
  afterAll(() => dispose());

  it("sync hands the create to a person; tasks list shows it with its age, due time and instructions", async () => {
    const sync = await runCli(["sync"], { cwd: dir, env: at("2026-03-02T09:00:00Z") });
    expect(sync.code).toBe(0);
    expect(sync.stdout).toContain("1 handed to people as tasks (tenure tasks list)");

    const list = await runCli(["tasks", "list", "--json"], { cwd: dir, env: at("2026-03-02T11:00:00Z") });
    expect(list.code).toBe(0);
    const tasks = JSON.parse(list.stdout).tasks as ListedTask[];
    expect(tasks).toHaveLength(1);
    task = tasks[0]!;
    expect(task).toMatchObject({ kind: "create", state: "open", overdue: false, ageHours: 2 });
    expect(task.instructions).toContain("Create the account ada.lovelace in legacy");

    const late = await runCli(["tasks", "list"], { cwd: dir, env: at("2026-03-02T14:00:00Z") });
    expect(late.stdout).toContain(`${task.id}  legacy  create ada.lovelace  for it-desk@example.test`);
    expect(late.stdout).toContain("due 2026-03-02T13:00:00.000Z — OVERDUE");
    expect(late.stdout).toContain("    Create the account ada.lovelace in legacy, enabled");
    const overdue = await runCli(["tasks", "list", "--overdue", "--json"], {
      cwd: dir,
      env: at("2026-03-02T12:00:00Z"),
    });
    expect(JSON.parse(overdue.stdout).tasks).toEqual([]);

    const status = await runCli(["status"], { cwd: dir, env: at("2026-03-02T14:00:00Z") });
    expect(status.stdout).toContain("1 awaiting");
    expect(status.stdout).toContain("tasks: 1 open, 1 overdue (tenure tasks list)");
  });

  it("tasks remind alerts about the overdue task once", async () => {
    const first = await runCli(["tasks", "remind", "--json"], { cwd: dir, env: at("2026-03-02T14:00:00Z") });
    expect(first.code).toBe(0);
    expect(JSON.parse(first.stdout).alerted.map((t: { id: string }) => t.id)).toEqual([task.id]);
    const second = await runCli(["tasks", "remind"], { cwd: dir, env: at("2026-03-02T15:00:00Z") });
    expect(second.stdout).toContain("0 overdue task(s) alerted");
  });

  it("tasks done needs --by, refuses an unknown task, and completes one named by its first characters", async () => {
    const anonymous = await runCli(["tasks", "done", task.id], { cwd: dir });
    expect(anonymous.code).toBe(2);
    expect(anonymous.stderr).toContain("--by");

    const unknown = await runCli(["tasks", "done", "0123abcd", "--by", "alice"], { cwd: dir });
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('no task "0123abcd"');

    const done = await runCli(
      [
        "tasks",
        "done",
        task.id.slice(0, 18),
        "--by",
        "alice",
        "--note",
        "made in the admin screen",
        "--json",
      ],
      { cwd: dir, env: at("2026-03-02T16:00:00Z") },
    );
    expect(done.code).toBe(0);
    const result = JSON.parse(done.stdout);
    expect(result.task).toMatchObject({ id: task.id, state: "done", doneBy: "user:alice" });
    expect(result.operation).toMatchObject({ state: "succeeded", finishedAt: "2026-03-02T16:00:00.000Z" });

    const twice = await runCli(["tasks", "done", task.id, "--by", "bob"], { cwd: dir });
    expect(twice.code).toBe(1);
    expect(twice.stderr).toContain(`task ${task.id} is already done (by user:alice`);

    const none = await runCli(["tasks", "list"], { cwd: dir, env: at("2026-03-02T17:00:00Z") });
    expect(none.stdout).toContain("no open tasks");
    const all = await runCli(["tasks", "list", "--all", "--json"], {
      cwd: dir,
      env: at("2026-03-02T17:00:00Z"),
    });
    expect(JSON.parse(all.stdout).tasks).toMatchObject([{ id: task.id, state: "done", overdue: false }]);

    const log = await runCli(["audit", "log", "--action", "operation.succeeded", "--json"], { cwd: dir });
    const [event] = JSON.parse(log.stdout).events;
    expect(event).toMatchObject({
      actor: "user:alice",
      time: "2026-03-02T16:00:00.000Z",
      details: {
        taskId: task.id,
        note: "made in the admin screen",
        tookHours: 7,
        slaHours: 4,
        withinSla: false,
      },
    });
    const plan = await runCli(["plan", "--json"], { cwd: dir, env: at("2026-03-02T17:00:00Z") });
    expect(JSON.parse(plan.stdout).operations).toEqual([]);
  });
});
