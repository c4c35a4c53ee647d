import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { freshPostgresUrl, postgresAvailable } from "../../test/helpers/databases.js";
import { openStore, type Store } from "../store/database.js";
import { type AuditEventInput, appendEvents, queryEvents, verifyLedger } from "./ledger.js";

// The PostgreSQL ledger under appenders in several processes, each with several connections: the
// append takes the head's row lock as late as it can (its first statement locks and reads the head,
// its second inserts the events and moves the head), so this checks that the chain it leaves is one
// chain — gap-free, verifying, and each transaction's batch in one piece, in its own order.

const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));
const PROCESSES = 3;
const LANES = 4;
const TRANSACTIONS = 8;

/** The batch transaction `t` of lane `lane` of appender `who` appends: 1 to 4 events, numbered. */
function batch(who: string, lane: number, t: number): AuditEventInput[] {
  return Array.from({ length: 1 + ((lane + t) % 4) }, (_, i) => ({
    time: new Date(Date.UTC(2026, 0, 1, 0, lane, t)).toISOString(),
    actor: who,
    action: "identity.updated",
    subject: `identity:${who}-${lane}-${t}`,
    details: { who, lane, t, i },
  }));
}

/**
 * One appender's work: LANES transactions at a time (one pool connection each), TRANSACTIONS per lane.
 * Even transactions read before appending and append last (how the push's transactions do it); odd
 * ones append first and then read, holding the lock across a round trip. Written as source so a child
 * process runs the very same code.
 */
const APPENDER = `async (store, appendEvents, who, lanes, transactions) => {
  const batch = ${batch.toString()};
  await Promise.all(
    Array.from({ length: lanes }, async (_, lane) => {
      for (let t = 0; t < transactions; t++) {
        await store.db.transaction().execute(async (trx) => {
          if (t % 2 === 0) {
            await trx.selectFrom("identities").select("id").limit(1).execute();
            await appendEvents(trx, batch(who, lane, t));
          } else {
            await appendEvents(trx, batch(who, lane, t));
            await trx.selectFrom("audit_head").select("seq").execute();
          }
        });
      }
    }),
  );
}`;

const pg = await postgresAvailable();
let cleanup: Array<() => Promise<void>> = [];

afterEach(async () => {
  for (const c of cleanup.reverse()) await c();
  cleanup = [];
});

describe.skipIf(!pg)("PostgreSQL ledger appended by several processes at once", () => {
  it("stays one verifying chain with each transaction's events together and in order", async () => {
    const { url, drop } = await freshPostgresUrl();
    cleanup.push(drop);
    const main: Store = await openStore(url);
    cleanup.push(() => main.close());

    const child = (who: string) =>
      runChild(`
        const { openStore } = await import(${JSON.stringify(new URL("../store/database.ts", import.meta.url).href)});
        const { appendEvents } = await import(${JSON.stringify(new URL("./ledger.ts", import.meta.url).href)});
        const store = await openStore(${JSON.stringify(url)});
        try {
          await (${APPENDER})(store, appendEvents, ${JSON.stringify(who)}, ${LANES}, ${TRANSACTIONS});
        } finally {
          await store.close();
        }
      `);
    const here = new Function(`return ${APPENDER}`)() as (
      store: Store,
      append: typeof appendEvents,
      who: string,
      lanes: number,
      transactions: number,
    ) => Promise<void>;
    const appenders = ["main", ...Array.from({ length: PROCESSES }, (_, p) => `process-${p + 1}`)];
    await Promise.all([
      here(main, appendEvents, "main", LANES, TRANSACTIONS),
      ...appenders.slice(1).map((who) => child(who)),
    ]);

    const expected = appenders.flatMap((who) =>
      Array.from({ length: LANES }, (_, lane) =>
        Array.from({ length: TRANSACTIONS }, (_, t) => batch(who, lane, t)),
      ).flat(),
    );
    const total = expected.reduce((n, b) => n + b.length, 0);
    const all = await queryEvents(main.db, { limit: 10_000 });
    expect(all.map((e) => e.seq)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    expect(await verifyLedger(main.db)).toEqual({ ok: true, checked: total });

    // Each batch once, its events on consecutive seqs in the order given: no append split another.
    const bySubject = new Map<string, typeof all>();
    for (const e of all) bySubject.set(e.subject, [...(bySubject.get(e.subject) ?? []), e]);
    expect(bySubject.size).toBe(expected.length);
    for (const b of expected) {
      const got = bySubject.get(b[0]!.subject)!;
      expect(got.map((e) => e.details.i)).toEqual(b.map((_, i) => i));
      expect(got.map((e) => e.seq - got[0]!.seq)).toEqual(b.map((_, i) => i));
    }
  });
});

function runChild(script: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
      cwd: REPO_ROOT,
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    proc.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    proc.once("error", reject);
    proc.once("exit", (code) =>
      code === 0 ? resolve() : reject(new Error(`appending process exited with ${code}: ${stderr}`)),
    );
  });
}
