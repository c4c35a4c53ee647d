/**
 * Issue 10, points 14 and 15, through the real `tenure` entry point: a store that is not Tenure's is
 * refused (named, left byte for byte); a damaged store, a full disk, a closed pipe and a configuration
 * error each say what happened in one line; two syncs on one store never run at once.
 *
 * Commands whose subject is the store run in process through the CLI's entry function
 * (`runCliInProcess`); those whose subject is the process — its stdout, a second process on the store —
 * spawn the real binary (`runCli`, `runWithStdout`).
 */
import { spawn } from "node:child_process";
import { closeSync, existsSync, openSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import BetterSqlite3 from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openStore, type Store } from "../../src/store/database.js";
import { withRunLock } from "../../src/store/run-lock.js";
import { CLI_ENTRY, runCli } from "../helpers/cli.js";
import { runCliInProcess } from "../helpers/cli-in-process.js";
import { freshPostgresUrl, postgresAvailable } from "../helpers/databases.js";
import { tempDir, writeHrCsv } from "../helpers/workspace.js";

const NOW = { TENURE_NOW: "2026-11-21T10:00:00Z" };

/** What a raw driver error or a crash looks like on stderr: never wanted. */
const RAW = /SqliteError|SQLITE_|DatabaseError|duplicate key|^\s+at |node:internal|Unhandled/m;

const config = (database: string) =>
  `database: "${database}"\nsources:\n  hr: { type: csv, path: ./hr.csv }\n`;

function rows(n: number): string[] {
  return Array.from(
    { length: n },
    (_, i) =>
      `E${1000 + i},Given${i},Family${i},p${i}@example.test,Eng,Engineer,,employee,active,2026-01-05,,`,
  );
}

/** Runs the CLI with stdout going where `stdout` says: a pipe read until `closeAfter` bytes, or a fd. */
function runWithStdout(
  args: string[],
  cwd: string,
  stdout: "pipe" | number,
  closeAfterFirstChunk = false,
): Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...CLI_ENTRY, ...args], {
      cwd,
      env: { ...process.env, ...NOW },
      stdio: ["ignore", stdout, "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout?.on("data", (d) => {
      out += d;
      // What `| head -1` does: read the first line, then close its end of the pipe.
      if (closeAfterFirstChunk) child.stdout?.destroy();
    });
    child.stderr?.on("data", (d) => {
      err += d;
    });
    child.on("error", reject);
    child.on("close", (code, signal) => resolve({ code, signal, stdout: out, stderr: err }));
  });
}

describe("a store that is not Tenure's is refused, naming it, and left as it was", () => {
  let dir: string;
  let dispose: () => Promise<void>;
  beforeAll(async () => {
    ({ dir, dispose } = await tempDir("tenure-storeroles-"));
    await writeFile(path.join(dir, "tenure.yaml"), config("sqlite:./tenure.db"));
    await writeHrCsv(dir, rows(3));
  });
  afterAll(() => dispose());
  const db = () => path.join(dir, "tenure.db");

  it("a file that does not exist: status refuses and creates nothing", async () => {
    const r = await runCliInProcess(["status"], { cwd: dir });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(db());
    expect(r.stderr).toContain("does not exist");
    expect(r.stderr).toContain("tenure init");
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(existsSync(db())).toBe(false);
    const sync = await runCliInProcess(["sync"], { cwd: dir, env: NOW });
    expect(sync.code).toBe(1);
    expect(existsSync(db())).toBe(false);
  });

  it("an empty file: status and sync refuse naming it; the file stays empty", async () => {
    await writeFile(db(), "");
    for (const args of [["status"], ["sync"], ["audit", "log"]]) {
      const r = await runCliInProcess(args, { cwd: dir, env: NOW });
      expect(r.code, args.join(" ")).toBe(1);
      expect(r.stderr).toContain(`sqlite:${db()} is an empty database`);
      expect(r.stderr).not.toMatch(RAW);
    }
    expect((await readFile(db())).length).toBe(0);
    expect(existsSync(`${db()}-wal`)).toBe(false);
  });

  it("another application's SQLite file: status and even init refuse naming it; not a byte changes", async () => {
    const foreign = new BetterSqlite3(db());
    foreign.exec(
      "create table customers (id integer primary key, name text); insert into customers values (1, 'x')",
    );
    foreign.close();
    const before = await readFile(db());
    for (const args of [["status"], ["init"], ["--config", path.join(dir, "tenure.yaml"), "init"]]) {
      const r = await runCliInProcess(args, { cwd: dir, env: NOW });
      expect(r.code, args.join(" ")).toBe(1);
      expect(r.stderr).toContain(`sqlite:${db()} holds another application's tables (customers)`);
      expect(r.stderr).not.toMatch(RAW);
    }
    expect((await readFile(db())).equals(before)).toBe(true);
  });

  it("init gives an empty file Tenure's schema; then status works", async () => {
    await writeFile(db(), "");
    const init = await runCliInProcess(["--config", path.join(dir, "tenure.yaml"), "init"], { cwd: dir });
    expect(init.code, init.stderr).toBe(0);
    expect(init.stdout).toContain(`kept ${path.join(dir, "tenure.yaml")}`);
    expect(init.stdout).toContain(`sqlite:${db()} holds Tenure's schema`);
    const status = await runCliInProcess(["status"], { cwd: dir });
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toContain("identities: none");
  });

  it("a damaged file: one line naming it, exit 1, no stack", async () => {
    const damaged = path.join(dir, "damaged.yaml");
    await writeFile(damaged, config("sqlite:./damaged.db"));
    await writeFile(path.join(dir, "damaged.db"), Buffer.alloc(8192, 0x5a));
    const r = await runCliInProcess(["--config", damaged, "status"], { cwd: dir });
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toContain(`sqlite:${path.join(dir, "damaged.db")} is damaged or not a SQLite database`);
    expect(r.stderr).not.toMatch(RAW);
  });

  it("a configuration error prints each problem once", async () => {
    const bad = path.join(dir, "bad.yaml");
    await writeFile(bad, "database: [\nsources: {}\n");
    const r = await runCliInProcess(["--config", bad, "status"], { cwd: dir });
    expect(r.code).toBe(1);
    const problem = r.stderr.split("\n").find((l) => l.includes("bad.yaml:2:"));
    expect(problem).toBeDefined();
    const occurrences = r.stderr.split("\n").filter((l) => l.trim() === problem?.trim()).length;
    expect(occurrences).toBe(1);
  });
});

describe("output that goes nowhere", () => {
  let dir: string;
  let dispose: () => Promise<void>;
  beforeAll(async () => {
    ({ dir, dispose } = await tempDir("tenure-storeroles-pipe-"));
    await writeFile(path.join(dir, "tenure.yaml"), config("sqlite:./tenure.db"));
    // Enough people that the audit log is far larger than a pipe's buffer (64 KiB).
    await writeHrCsv(dir, rows(600));
    expect((await runCliInProcess(["init"], { cwd: dir })).code).toBe(0);
    const sync = await runCliInProcess(["sync"], { cwd: dir, env: NOW });
    expect(sync.code, sync.stderr).toBe(0);
  }, 60_000);
  afterAll(() => dispose());

  it("`tenure audit log | head -1`: exits 0 quietly, no stack trace", async () => {
    const r = await runWithStdout(["audit", "log", "--limit", "100000"], dir, "pipe", true);
    expect(r.stdout.length).toBeGreaterThan(0);
    expect(r.stderr).not.toMatch(/EPIPE|error/i);
    expect(r.stderr).not.toMatch(RAW);
    expect(r.signal).toBeNull();
    expect(r.code).toBe(0);
  });

  it("a full disk under stdout (/dev/full): one line saying so, exit 1", async () => {
    const full = openSync("/dev/full", "w");
    try {
      const r = await runWithStdout(["identities", "list"], dir, full);
      expect(r.code).toBe(1);
      expect(r.stderr.trim().split("\n")).toEqual([
        expect.stringMatching(/cannot write the output: .*no space left/),
      ]);
    } finally {
      closeSync(full);
    }
  });
});

describe("two tenure processes on one SQLite store", () => {
  let dir: string;
  let dispose: () => Promise<void>;
  beforeAll(async () => {
    ({ dir, dispose } = await tempDir("tenure-storeroles-busy-"));
    await writeFile(path.join(dir, "tenure.yaml"), config("sqlite:./tenure.db"));
    await writeHrCsv(dir, rows(3));
    expect((await runCliInProcess(["init"], { cwd: dir })).code).toBe(0);
  });
  afterAll(() => dispose());

  it("a writer that holds the file past the busy timeout: a clear message naming the file", async () => {
    const other = new BetterSqlite3(path.join(dir, "tenure.db"));
    other.exec("begin immediate");
    try {
      const r = await runCli(["token", "create", "--name", "ci", "--role", "admin"], { cwd: dir });
      expect(r.code).toBe(1);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      expect(r.stderr).toContain(
        `another tenure process is writing to sqlite:${path.join(dir, "tenure.db")}`,
      );
      expect(r.stderr).not.toMatch(RAW);
    } finally {
      other.exec("rollback");
      other.close();
    }
  }, 30_000);
});

describe.each(["sqlite", "postgres"])("one sync at a time on %s", (kind) => {
  let dir: string;
  let dispose: () => Promise<void>;
  let url: string;
  let drop: () => Promise<void> = async () => {};
  let store: Store;
  let skip = false;
  beforeAll(async () => {
    ({ dir, dispose } = await tempDir("tenure-storeroles-lock-"));
    if (kind === "postgres") {
      if (!(await postgresAvailable())) {
        skip = true;
        return;
      }
      ({ url, drop } = await freshPostgresUrl());
    } else {
      url = `sqlite:${path.join(dir, "tenure.db")}`;
    }
    await writeFile(path.join(dir, "tenure.yaml"), config(url));
    await writeHrCsv(dir, rows(40));
    const init = await runCliInProcess(["init"], { cwd: dir });
    expect(init.code, init.stderr).toBe(0);
    store = await openStore(url, { create: false });
  });
  afterAll(async () => {
    await store?.close();
    await drop();
    await dispose();
  });

  const counts = async () => ({
    identities: Number(
      (
        await store.db
          .selectFrom("identities")
          .select((eb) => eb.fn.countAll().as("n"))
          .executeTakeFirst()
      )?.n,
    ),
    events: Number(
      (
        await store.db
          .selectFrom("audit_events")
          .select((eb) => eb.fn.countAll().as("n"))
          .executeTakeFirst()
      )?.n,
    ),
  });

  it("while another process holds the sync, `tenure sync` answers 'a sync is running' naming it, and changes nothing", async (ctx) => {
    if (skip) ctx.skip();
    const before = await counts();
    let release: () => void = () => {};
    const held = withRunLock(
      store,
      "sync",
      { command: "tenure sync (test)", now: new Date() },
      () =>
        new Promise<void>((r) => {
          release = r;
        }),
    );
    try {
      // Wait until the lock is held (the holder's row is written).
      await expect
        .poll(async () => (await store.db.selectFrom("run_locks").selectAll().execute()).length)
        .toBe(1);
      const r = await runCliInProcess(["sync"], { cwd: dir, env: NOW });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain("a sync is running");
      expect(r.stderr).toContain(`pid ${process.pid}`);
      expect(r.stderr).toContain("tenure sync (test)");
      expect(r.stderr).not.toMatch(RAW);
      expect(await counts()).toEqual(before);
      // A dry run changes nothing, so it does not wait for the lock.
      expect((await runCliInProcess(["sync", "--dry-run"], { cwd: dir, env: NOW })).code).toBe(0);
    } finally {
      release();
      await held;
    }
    expect(await store.db.selectFrom("run_locks").selectAll().execute()).toEqual([]);
  });

  it("two syncs started together: each ends cleanly or says 'a sync is running'; never a driver error", async (ctx) => {
    if (skip) ctx.skip();
    const [a, b] = await Promise.all([
      runCli(["sync"], { cwd: dir, env: NOW }),
      runCli(["sync"], { cwd: dir, env: NOW }),
    ]);
    for (const r of [a, b]) {
      expect(r.stderr).not.toMatch(RAW);
      if (r.code !== 0) {
        expect(r.code).toBe(1);
        expect(r.stderr).toContain("a sync is running");
      }
    }
    expect([a.code, b.code]).toContain(0);
    expect((await counts()).identities).toBe(40);
  }, 60_000);
});
