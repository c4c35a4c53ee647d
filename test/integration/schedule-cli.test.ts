/**
 * The scheduler through the real `tenure` entry point (child processes, as a user runs them): `schedule
 * run` from cron with the clock pinned by TENURE_NOW — first run, a catch-up after hours without a run,
 * a job by name, an unknown one — `schedule status`, and `tenure serve` catching up at start: a prehire
 * whose start date passed while nothing ran is active moments after the server starts, without a sync.
 */
import { spawn } from "node:child_process";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { queryEvents } from "../../src/audit/ledger.js";
import { openStore } from "../../src/store/database.js";
import { identityRepository } from "../../src/store/identity-repository.js";
import { CLI_ENTRY, runCli } from "../helpers/cli.js";
import { tempDir, writeHrCsv } from "../helpers/workspace.js";

// employeeId,givenName,familyName,email,department,title,managerId,employmentType,status,startDate,endDate,terminationDate
const ROWS = [
  "E1,Ada,Lovelace,ada@example.test,Eng,Lead,,employee,active,2026-01-05,,",
  "E2,Kim,Future,kim@example.test,Eng,Dev,E1,employee,active,2026-03-05,,",
];

describe("tenure schedule and serve's scheduler", () => {
  let dir: string;
  let dispose: () => Promise<void>;
  const cli = (args: string[], now: string) =>
    runCli(["--config", path.join(dir, "tenure.yaml"), ...args], { env: { TENURE_NOW: now } });
  const kimState = async () => {
    const store = await openStore(`sqlite:${path.join(dir, "tenure.db")}`);
    try {
      return (await identityRepository.list(store.db)).find((i) => i.sourceKey === "E2")?.state;
    } finally {
      await store.close();
    }
  };

  beforeAll(async () => {
    ({ dir, dispose } = await tempDir("tenure-schedule-cli-"));
    await writeHrCsv(dir, ROWS);
    await writeFile(
      path.join(dir, "tenure.yaml"),
      [
        "database: sqlite:./tenure.db",
        "sources:",
        "  hr: { type: csv, path: ./hr.csv }",
        "server:",
        '  schedule: { lifecycle: "0 * * * *" }',
        "",
      ].join("\n"),
    );
    expect((await cli(["init"], "2026-03-01T09:00:00Z")).code).toBe(0);
    const sync = await cli(["sync"], "2026-03-01T09:00:00Z");
    expect(sync.code, sync.stderr).toBe(0);
  });
  afterAll(async () => {
    await dispose();
  });

  it("runs due jobs from cron: every job the first time, then once per job after a gap, audited as late", async () => {
    const never = await cli(["--json", "schedule", "status"], "2026-03-01T09:00:00Z");
    expect(never.code, never.stderr).toBe(0);
    expect(JSON.parse(never.stdout)).toMatchObject({
      enabled: true,
      timeZone: "UTC",
      jobs: [{ job: "lifecycle", pattern: "0 * * * *", last: null, overdue: true }],
    });

    const first = await cli(["--json", "schedule", "run"], "2026-03-01T09:00:00Z");
    expect(first.code, first.stderr).toBe(0);
    expect(JSON.parse(first.stdout)).toMatchObject({
      leader: true,
      runs: [{ job: "lifecycle", status: "succeeded", lateSeconds: 0, caughtUp: false }],
    });
    const again = await cli(["schedule", "run"], "2026-03-01T09:30:00Z");
    expect(again.stdout).toBe("nothing is due\n");

    // No run for four days: one run catches up, Kim's start date is applied, the audit says how late.
    const late = await cli(["schedule", "run"], "2026-03-05T09:10:00Z");
    expect(late.code, late.stderr).toBe(0);
    expect(late.stdout).toMatch(
      /^lifecycle: done \(due 2026-03-01T10:00:00.000Z, 3d 23h 10m late, caught up\)/,
    );
    expect(late.stderr).toContain("warning: the clock is pinned by TENURE_NOW");
    expect(await kimState()).toBe("active");

    const status = await cli(["schedule", "status"], "2026-03-05T09:20:00Z");
    expect(status.stdout).toContain("scheduler on in tenure serve");
    expect(status.stdout).toMatch(
      /lifecycle\s+0 \* \* \* \*\s+2026-03-05T09:10:00.000Z \(3d 23h 10m late\)\s+succeeded\s+2026-03-05T10:00:00.000Z\n/,
    );

    const unknown = await cli(["schedule", "run", "nightly"], "2026-03-05T09:20:00Z");
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('no scheduled job "nightly" (jobs: lifecycle)');
    const forced = await cli(["--json", "schedule", "run", "lifecycle"], "2026-03-05T09:20:00Z");
    expect(JSON.parse(forced.stdout).runs).toMatchObject([
      { job: "lifecycle", due: "2026-03-05T09:20:00.000Z" },
    ]);
  }, 240_000);

  it("serve catches up at start: what fell due while it was down runs at once", async () => {
    await writeHrCsv(dir, [...ROWS, "E3,Lee,Later,lee@example.test,Eng,Dev,E1,employee,active,2026-03-09,,"]);
    expect((await cli(["sync"], "2026-03-05T09:30:00Z")).code).toBe(0);
    const child = spawn(
      process.execPath,
      [...CLI_ENTRY, "--config", path.join(dir, "tenure.yaml"), "serve", "--port", "0"],
      {
        stdio: ["ignore", "pipe", "pipe"],
        env: { ...process.env, TENURE_NOW: "2026-03-10T08:00:00Z" },
      },
    );
    let stderr = "";
    child.stdout.resume();
    child.stderr.on("data", (d) => {
      stderr += d;
    });
    const exited = new Promise<number | null>((resolve) => child.on("exit", resolve));
    try {
      const started = Date.now();
      let lee: string | undefined;
      while (lee !== "active") {
        if (Date.now() - started > 30_000) throw new Error(`Lee was not activated: ${stderr}`);
        await new Promise((r) => setTimeout(r, 200));
        const store = await openStore(`sqlite:${path.join(dir, "tenure.db")}`);
        try {
          lee = (await identityRepository.list(store.db)).find((i) => i.sourceKey === "E3")?.state;
        } finally {
          await store.close();
        }
      }
    } finally {
      child.kill("SIGTERM");
    }
    expect(await exited).toBe(0);
    const store = await openStore(`sqlite:${path.join(dir, "tenure.db")}`);
    try {
      const caughtUp = (await queryEvents(store.db, { action: "schedule.ran" })).at(-1);
      expect(caughtUp?.actor).toBe("scheduler");
      expect(caughtUp?.details).toMatchObject({
        job: "lifecycle",
        due: "2026-03-05T10:00:00.000Z",
        ran: "2026-03-10T08:00:00.000Z",
        lateSeconds: 4 * 86_400 + 22 * 3600,
        caughtUp: true,
      });
    } finally {
      await store.close();
    }
  }, 120_000);
});
