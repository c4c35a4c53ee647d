import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // forks, not threads: the CLI tests run `tenure` in process (test/helpers/cli-in-process.ts), which
    // changes the working directory — refused in a worker thread.
    pool: "forks",
    // Vitest's default under `run` is one worker fewer than the cores: a single worker on CI's 2 cores,
    // every file one after another. Much of a file's time is spent waiting — on PostgreSQL, a child
    // process, a server, a busy timeout, chromium — so two files at a time use both cores. Files do not
    // share state: each takes its own PostgreSQL schema, MariaDB database, temp folder and free port
    // (the one fixed-port server, Samba AD, is in one file). `npx vitest run --maxWorkers=1` for one.
    maxWorkers: 2,
    // Each worker process runs its files one after another in one module graph, instead of importing
    // Tenure's modules again for every file: 268 files spent about a third of the run importing (the whole
    // suite on 2 cores: 946 s isolated, 736 s not, the same 2,382 tests passing). Files share no state
    // but modules' caches: each takes its own store, schema, folder and port, and the one global a
    // test changes (the working directory, test/helpers/cli-in-process.ts) is given back. A file that
    // needs a fresh module graph: `npx vitest run --isolate FILE` checks whether it does.
    isolate: false,
    // The default summary counts skipped tests; the second reporter names each one.
    reporters: ["default", "./test/reporters/skip-summary.ts"],
  },
});
