import { Command } from "commander";
import { describe, expect, it } from "vitest";
import { buildProgram, COMMANDS, commandNameOf } from "./program.js";

describe("the CLI's command table", () => {
  it("names exactly the commands each registration adds, in the order help lists them", async () => {
    for (const entry of COMMANDS) {
      const program = new Command();
      (await entry.load())(program);
      expect(program.commands.map((c) => c.name())).toEqual(entry.names);
    }
    const all = await buildProgram();
    expect(all.commands.map((c) => c.name())).toEqual(COMMANDS.flatMap((c) => c.names));
  });

  it("builds only the command a command line names; everything for help, a typo and completion", async () => {
    expect((await buildProgram("operations")).commands.map((c) => c.name())).toEqual([
      "status",
      "operations",
      "apply",
    ]);
    const everything = COMMANDS.flatMap((c) => c.names).length;
    for (const name of [undefined, "snyc", "help", "completion"]) {
      expect((await buildProgram(name)).commands).toHaveLength(everything);
    }
  });

  it("finds the command after global options and --config's value", () => {
    expect(commandNameOf(["sync", "--dry-run"])).toBe("sync");
    expect(commandNameOf(["-c", "sync.yaml", "--json", "status"])).toBe("status");
    expect(commandNameOf(["--config", "x.yaml", "plan"])).toBe("plan");
    expect(commandNameOf(["--config=x.yaml", "plan"])).toBe("plan");
    expect(commandNameOf(["--help"])).toBeUndefined();
    expect(commandNameOf([])).toBeUndefined();
  });
});
