#!/usr/bin/env node
import { handleOutputErrors } from "./output.js";
import { run } from "./program.js";

handleOutputErrors();
run(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = Math.max(code, Number(process.exitCode ?? 0));
  },
  (err: unknown) => {
    process.stderr.write(`error: ${String(err)}\n`);
    process.exitCode = 1;
  },
);
