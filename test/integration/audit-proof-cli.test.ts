// biome-ignore-all lint/suspicious/noTemplateCurlyInString: tenure.yaml text, where ${file:…} is a literal reference.
import { spawn } from "node:child_process";
import { appendFile, readFile, stat } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CliResult, runCli } from "../helpers/cli.js";
import { tempDir } from "../helpers/workspace.js";

const SCRIPT = fileURLToPath(new URL("../../docs/examples/verify-ledger-export.mjs", import.meta.url));

function node(args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: "ignore" });
    child.on("error", reject);
    child.on("close", (code) => resolve(code ?? -1));
  });
}

describe("tenure audit: signed heads, export and archive", () => {
  let dir: string;
  let other: string;
  let dispose: () => Promise<void>;
  let disposeOther: () => Promise<void>;
  const outputs: CliResult[] = [];
  const cli = async (args: string[], cwd: string, now = "2026-11-21T10:00:00Z") => {
    const result = await runCli(args, { cwd, env: { TENURE_NOW: now } });
    outputs.push(result);
    return result;
  };

  beforeAll(async () => {
    ({ dir, dispose } = await tempDir("tenure-audit-proof-"));
    ({ dir: other, dispose: disposeOther } = await tempDir("tenure-audit-forged-"));
    expect((await cli(["init", dir], dir)).code).toBe(0);
    expect((await cli(["sync"], dir)).code).toBe(0);
  }, 60_000);
  afterAll(async () => {
    await dispose();
    await disposeOther();
  });

  it("keygen writes a 0600 key, prints only its public half, and never overwrites", async () => {
    const keygen = await cli(
      ["audit", "keygen", "--out", "keys/ledger.pem", "--public-out", "keys/public.pem", "--json"],
      dir,
    );
    expect(keygen.code).toBe(0);
    const printed = JSON.parse(keygen.stdout);
    expect(printed).toMatchObject({
      file: path.join(dir, "keys", "ledger.pem"),
      keyId: expect.stringMatching(/^[0-9a-f]{16}$/),
    });
    expect(printed.publicKey).toBe(await readFile(path.join(dir, "keys", "public.pem"), "utf8"));
    expect((await stat(path.join(dir, "keys", "ledger.pem"))).mode & 0o777).toBe(0o600);
    const again = await cli(["audit", "keygen", "--out", "keys/ledger.pem"], dir);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/exists already/);
  });

  it("publishes a signed head to the file sink and verifies the ledger against it", async () => {
    await appendFile(
      path.join(dir, "tenure.yaml"),
      [
        "audit:",
        "  signing:",
        "    key: ${file:./keys/ledger.pem}",
        "  publish:",
        "    to:",
        "      - file: ./ledger-heads.jsonl",
        "",
      ].join("\n"),
    );
    const status = await cli(["schedule", "status", "--json"], dir);
    expect(JSON.parse(status.stdout).jobs.map((j: { job: string }) => j.job)).toContain("audit-publish");
    const run = await cli(["schedule", "run", "audit-publish"], dir);
    expect(run.code).toBe(0);
    const publish = await cli(["audit", "publish", "--json"], dir);
    // Only the first publication's own event happened since: nothing new to sign.
    expect(JSON.parse(publish.stdout).published).toBeNull();

    const heads = (await readFile(path.join(dir, "ledger-heads.jsonl"), "utf8")).trim().split("\n");
    expect(heads).toHaveLength(1);
    const verify = await cli(["audit", "verify", "--heads", "ledger-heads.jsonl", "--json"], dir);
    expect(verify.code).toBe(0);
    expect(JSON.parse(verify.stdout)).toMatchObject({
      ok: true,
      heads: { ok: true, checked: 2, signaturesChecked: true, mismatches: [] },
    });
    const text = await cli(["audit", "verify", "--heads", "ledger-heads.jsonl"], dir);
    expect(text.stdout).toMatch(/ledger intact: \d+ events verified\npublished heads hold: 2 checked\n/);
  });

  it("fails verification of a replaced database against the published heads, naming the seq", async () => {
    // Another organisation's database, its own chain: what a wholesale replacement looks like.
    expect((await cli(["init", other], other)).code).toBe(0);
    expect((await cli(["sync"], other, "2026-11-22T08:00:00Z")).code).toBe(0);
    const verify = await cli(
      [
        "audit",
        "verify",
        "--heads",
        path.join(dir, "ledger-heads.jsonl"),
        "--public-key",
        path.join(dir, "keys", "public.pem"),
      ],
      other,
    );
    expect(verify.code).toBe(1);
    expect(verify.stdout).toMatch(/ledger intact/);
    // The other chain differs at that seq, or ends before it: either way the head names what differs.
    expect(verify.stderr).toMatch(
      /published head at event (\d+) \(.*ledger-heads\.jsonl:1\) does NOT hold: (event \1 has hash [0-9a-f]{16}… in the database, but the published head says|the published head reached event \1, but the ledger in the database ends at event \d+)/,
    );
  });

  it("exports a range the standalone script verifies, then archives and still verifies across the cut", async () => {
    const exported = await cli(
      ["audit", "export", "--from", "1", "--to", "2026-11-21", "--out", "export.jsonl", "--json"],
      dir,
    );
    expect(exported.code).toBe(0);
    const summary = JSON.parse(exported.stdout);
    expect(summary).toMatchObject({ firstSeq: 1, events: summary.lastSeq, heads: 1 });
    expect(
      await node([
        SCRIPT,
        "--public-key",
        path.join(dir, "keys", "public.pem"),
        path.join(dir, "export.jsonl"),
      ]),
    ).toBe(0);

    const archived = await cli(
      ["audit", "archive", "--before", "2026-11-22", "--out", "archive-1.jsonl", "--json"],
      dir,
      "2026-11-23T10:00:00Z",
    );
    expect(archived.code).toBe(0);
    const cut = JSON.parse(archived.stdout);
    expect(cut).toMatchObject({ firstSeq: 1, file: path.join(dir, "archive-1.jsonl") });
    const verify = await cli(["audit", "verify", "--heads", "ledger-heads.jsonl"], dir);
    expect(verify.code).toBe(0);
    expect(verify.stdout).toContain(`(from the archive cut after event ${cut.lastSeq})`);

    const rest = await cli(["audit", "export", "--out", "rest.jsonl", "--json"], dir, "2026-11-23T11:00:00Z");
    expect(JSON.parse(rest.stdout).firstSeq).toBe(cut.lastSeq + 1);
    const key = path.join(dir, "keys", "public.pem");
    expect(
      await node([
        SCRIPT,
        "--public-key",
        key,
        path.join(dir, "archive-1.jsonl"),
        path.join(dir, "rest.jsonl"),
      ]),
    ).toBe(0);

    const nothing = await cli(
      ["audit", "archive", "--before", "2026-11-22", "--out", "archive-2.jsonl"],
      dir,
    );
    expect(nothing.code).toBe(1);
    expect(nothing.stderr).toMatch(/nothing to archive/);
  });

  it("never shows the private key", async () => {
    const pem = await readFile(path.join(dir, "keys", "ledger.pem"), "utf8");
    const body = pem.split("\n")[1]!;
    for (const o of outputs) {
      expect(o.stdout).not.toContain(body);
      expect(o.stderr).not.toContain(body);
    }
    const log = await cli(["audit", "log", "--json", "--limit", "100000"], dir);
    expect(log.stdout).not.toContain(body);
  });
});
