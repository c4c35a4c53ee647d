import { mkdtemp } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { Command } from "commander";
import { syncAll } from "../../engine/sync.js";
import { loadConfig } from "../../policy/config-loader.js";
import { openStore } from "../../store/database.js";
import { globalOptions, now, outputFor } from "../context.js";
import { printJson, println } from "../output.js";
import { initWorkspace } from "./init-command.js";

export function registerDemo(program: Command): void {
  program
    .command("demo [dir]")
    .description("create a demo workspace (in a temporary folder unless DIR is given) and sync it")
    .action(async (dir: string | undefined, _opts, cmd: Command) => {
      const o = outputFor(globalOptions(cmd));
      const target = dir ?? (await mkdtemp(path.join(os.tmpdir(), "tenure-demo-")));
      await initWorkspace(target, true);
      const config = await loadConfig(path.join(target, "tenure.yaml"));
      const store = await openStore(config.database, { baseDir: config.baseDir });
      try {
        const results = await syncAll(store, config, { now: now(), actor: "demo" });
        if (o.json) {
          printJson(o, { workspace: target, results });
          return;
        }
        println(o, `demo workspace: ${target}`);
        for (const r of results) {
          println(
            o,
            `  source ${r.source}: ${r.created} identities created, ${r.findings.length} data-quality findings`,
          );
        }
        println(o, "");
        println(o, "try:");
        println(o, `  npx tenure --config ${path.join(target, "tenure.yaml")} identities list`);
        println(o, `  npx tenure --config ${path.join(target, "tenure.yaml")} audit log`);
        println(o, `  npx tenure --config ${path.join(target, "tenure.yaml")} audit verify`);
      } finally {
        await store.close();
      }
    });
}
