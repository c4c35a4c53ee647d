import { writeFile } from "node:fs/promises";
import path from "node:path";
import { Command } from "commander";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { tempDir } from "../../../test/helpers/workspace.js";
import type { Account } from "../../domain/access-types.js";
import { loadConfig } from "../../policy/config-loader.js";
import { accountRepository } from "../../store/account-repository.js";
import { openStore } from "../../store/database.js";
import { runDormantCheck } from "../../workflows/dormant-accounts.js";
import { registerDormant } from "./dormant-command.js";

const YAML = `database: sqlite:./t.db
sources:
  hr: { type: push, key: employeeId }
systems:
  dir:
    connector: manual
    owner: it-ops@example.test
    account: { username: "{employeeId}" }
    config: { fulfiller: dir-ops@example.test }
reviews:
  dormant:
    dir: { afterDays: 30, noticeDays: 7 }
`;

/** `tenure review dormant …` as main.ts would run it, once `review` registers it; stdout captured. */
async function run(configFile: string, ...args: string[]): Promise<string> {
  const program = new Command().exitOverride().option("--config <path>").option("--json");
  registerDormant(program.command("review"));
  const out: string[] = [];
  const spy = vi.spyOn(process.stdout, "write").mockImplementation((chunk) => {
    out.push(String(chunk));
    return true;
  });
  try {
    await program.parseAsync(["--config", configFile, "review", "dormant", ...args], { from: "user" });
  } finally {
    spy.mockRestore();
  }
  return out.join("");
}

describe("tenure review dormant", () => {
  let dir: { dir: string; dispose: () => Promise<void> };
  let file: string;
  beforeAll(async () => {
    dir = await tempDir("tenure-dormant-cli-");
    file = path.join(dir.dir, "tenure.yaml");
    await writeFile(file, YAML);
    const config = await loadConfig(file, { env: {} });
    const store = await openStore(config.database, { baseDir: dir.dir });
    const now = new Date();
    const orphan = (username: string, days: number): Account => ({
      system: "dir",
      nativeId: null,
      username,
      identityId: null,
      enabled: true,
      attributes: {},
      entitlements: [],
      managedEntitlements: [],
      managed: false,
      lastSeenAt: now.toISOString(),
      lastUsedAt: new Date(now.getTime() - days * 86_400_000).toISOString(),
    });
    await accountRepository.upsertMany(
      store.db,
      [orphan("svc-old", 40), orphan("svc-new", 2)],
      now.toISOString(),
    );
    await runDormantCheck({ db: store.db, config, now });
    await store.close();
  });
  afterAll(() => dir.dispose());

  it("lists what is noticed, as a table and as JSON", async () => {
    const table = await run(file);
    expect(table).toMatch(/^SYSTEM\s+ACCOUNT\s+HOLDER\s+LAST USED\s+STATE/);
    expect(table).toMatch(/dir\s+svc-old\s+\(orphan\)\s+\S+\s+noticed/);
    expect(table).not.toContain("svc-new");
    const json = JSON.parse(await run(file, "--json")) as { accounts: Array<Record<string, unknown>> };
    expect(json.accounts).toEqual([expect.objectContaining({ username: "svc-old", state: "noticed" })]);
  });

  it("releases a notice, after which nothing is listed", async () => {
    expect(await run(file, "release", "dir", "svc-old")).toContain("released dir/svc-old");
    expect(await run(file)).toBe("no dormant accounts noticed or disabled\n");
    expect(await run(file, "list", "--all")).toMatch(/svc-old.*cleared/);
  });
});
