// biome-ignore-all lint/suspicious/noTemplateCurlyInString: messages show the literal ${file:…} syntax of tenure.yaml.
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import type { Command } from "commander";
import { archiveLedger } from "../../audit/ledger-archive.js";
import { exportLedger, type RangeBound, resolveRange } from "../../audit/ledger-export.js";
import type { HeadsVerification } from "../../audit/ledger-heads-verify.js";
import { publishLedgerHead } from "../../audit/ledger-publish.js";
import { generateSigningKey } from "../../audit/ledger-signing.js";
import { InvalidInputError, UsageError } from "../../shared/errors.js";
import { signingKeyOf } from "../../workflows/ledger-proof.js";
import { cliActor, globalOptions, now, outputFor, withStore } from "../context.js";
import { printError, printJson, println } from "../output.js";
import { createProgress } from "../progress.js";

const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;
const DAY_MS = 86_400_000;

/**
 * `--from` / `--to`: an event's seq (digits), or a date / ISO-8601 date-time. A date alone is the start
 * of that day (UTC) for `--from` and `--before`, and the whole day for `--to`.
 */
function rangeBound(value: string, flag: "--from" | "--to"): RangeBound {
  if (/^\d+$/.test(value)) {
    const seq = Number(value);
    if (!Number.isSafeInteger(seq) || seq < 1)
      throw new UsageError(`${flag} ${value}: expected an event seq of 1 or more`);
    return { seq };
  }
  const at = instant(value, flag);
  return flag === "--to" && DATE_ONLY.test(value)
    ? { time: new Date(at.getTime() + DAY_MS - 1) }
    : { time: at };
}

function instant(value: string, flag: string): Date {
  const ms = /^\d{4}-\d{2}-\d{2}/.test(value)
    ? Date.parse(DATE_ONLY.test(value) ? `${value}T00:00:00Z` : value)
    : Number.NaN;
  if (Number.isNaN(ms)) {
    throw new UsageError(`${flag} ${value}: expected an event seq, or an ISO-8601 date or date-time`);
  }
  return new Date(ms);
}

/** Commander's collector for a repeatable option. */
export function collectValues(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** Prints what {@link verifyPublishedHeads} found, for people: each mismatch on stderr, or one line when all hold. */
export function printHeads(o: ReturnType<typeof outputFor>, heads: HeadsVerification): void {
  if (heads.checked + heads.archived + heads.mismatches.length === 0) return;
  for (const m of heads.mismatches) {
    printError(
      o,
      `published head ${m.seq < 0 ? "" : `at event ${m.seq} `}(${m.source}) does NOT hold: ${m.problem}`,
    );
  }
  if (heads.ok) {
    println(
      o,
      `published heads hold: ${heads.checked} checked${heads.archived > 0 ? `, ${heads.archived} inside archived segments` : ""}` +
        (heads.signaturesChecked
          ? ""
          : " (signatures NOT checked: no key configured or given with --public-key)"),
    );
  }
}

export function registerAuditProof(audit: Command): void {
  audit
    .command("keygen")
    .description("write a new Ed25519 signing key for the ledger (mode 0600) and print its public key")
    .requiredOption("--out <file>", "where to write the private key (PKCS#8 PEM); must not exist")
    .option("--public-out <file>", "also write the public key (SPKI PEM) here, for verifiers")
    .action(async (opts: { out: string; publicOut?: string }, cmd: Command) => {
      const o = outputFor(globalOptions(cmd));
      const key = generateSigningKey();
      try {
        await mkdir(path.dirname(path.resolve(opts.out)), { recursive: true, mode: 0o700 });
        await writeFile(opts.out, key.privateKeyPem, { mode: 0o600, flag: "wx" });
        if (opts.publicOut !== undefined) await writeFile(opts.publicOut, key.publicKeyPem, { flag: "wx" });
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        throw new InvalidInputError(
          code === "EEXIST"
            ? "the key file exists already; keygen never overwrites a key"
            : `cannot write the key: ${code ?? "error"}`,
        );
      }
      const file = path.resolve(opts.out);
      if (o.json) {
        printJson(o, { file, keyId: key.keyId, publicKey: key.publicKeyPem });
        return;
      }
      println(o, `wrote ${file} (Ed25519 private key, mode 0600), key id ${key.keyId}`);
      println(o, `set in tenure.yaml:  audit: { signing: { key: \${file:${opts.out}} } }`);
      println(o, "public key, for whoever verifies heads and exports:");
      o.out.write(key.publicKeyPem);
    });

  audit
    .command("publish")
    .description(
      "sign the ledger's head now and publish it to audit.publish.to (as the audit-publish job does)",
    )
    .action(async (_opts, cmd: Command) => {
      const g = globalOptions(cmd);
      const o = outputFor(g);
      const result = await withStore(g, ({ config, store }) =>
        publishLedgerHead(store.db, {
          key: signingKeyOf(config),
          sinks: config.audit?.publish?.to ?? [],
          now: now(),
          actor: cliActor(),
          emailMaxAttempts: config.notify?.retry.maxAttempts ?? 10,
        }),
      );
      if (o.json) printJson(o, result);
      else {
        println(
          o,
          result.published === null
            ? "the ledger has not changed since the last published head: nothing new signed"
            : `signed the head at event ${result.published.seq} (${result.published.hash}) with key ${result.published.keyId}`,
        );
        for (const d of result.delivered) println(o, `delivered event ${d.seq} to ${d.sink}`);
        for (const f of result.failed)
          printError(o, `NOT delivered event ${f.seq} to ${f.sink}: ${f.error} (retried next time)`);
      }
      if (result.failed.length > 0) process.exitCode = 1;
    });

  audit
    .command("export")
    .description(
      "write a range of the ledger as signed JSON Lines, verifiable without Tenure (docs/audit-verify.md)",
    )
    .option("--from <seq|date>", "the first event: its seq, or the first at or after a date / date-time")
    .option(
      "--to <seq|date>",
      "the last event: its seq, or the last at or before a date-time (a date: that whole day)",
    )
    .requiredOption("--out <file>", "the JSON Lines file to write")
    .action(async (opts: { from?: string; to?: string; out: string }, cmd: Command) => {
      const g = globalOptions(cmd);
      const o = outputFor(g);
      const from = opts.from === undefined ? undefined : rangeBound(opts.from, "--from");
      const to = opts.to === undefined ? undefined : rangeBound(opts.to, "--to");
      const progress = createProgress(!o.json, "export");
      const summary = await withStore(g, async ({ config, store }) => {
        const key = signingKeyOf(config);
        const range = await resolveRange(store.db, from, to);
        return exportLedger(store.db, range, opts.out, {
          key,
          now: now(),
          onProgress: (done, total) => progress.update(done, total),
        });
      }).finally(() => progress.stop());
      if (o.json) printJson(o, summary);
      else {
        println(
          o,
          `exported events ${summary.firstSeq}–${summary.lastSeq} (${summary.events}) and ${summary.heads} published heads to ${summary.file}, signed by key ${summary.keyId}`,
        );
        println(o, `sha256 ${summary.sha256}`);
      }
    });

  audit
    .command("archive")
    .description(
      "move the events before a date into a signed archive file; the chain stays verifiable across the cut",
    )
    .requiredOption("--before <date>", "archive the events before this date / ISO-8601 date-time")
    .requiredOption("--out <file>", "the archive file (JSON Lines, as export writes); must not exist")
    .action(async (opts: { before: string; out: string }, cmd: Command) => {
      const g = globalOptions(cmd);
      const o = outputFor(g);
      const before = instant(opts.before, "--before");
      const progress = createProgress(!o.json, "archive");
      const summary = await withStore(g, ({ config, store }) =>
        archiveLedger(store.db, before, opts.out, {
          key: signingKeyOf(config),
          now: now(),
          actor: cliActor(),
          onProgress: (done, total) => progress.update(done, total),
        }),
      ).finally(() => progress.stop());
      if (o.json) printJson(o, summary);
      else {
        println(
          o,
          `archived events ${summary.firstSeq}–${summary.lastSeq} (${summary.events}) to ${summary.file} and removed them from the database`,
        );
        println(
          o,
          `sha256 ${summary.sha256}; the chain now starts after event ${summary.lastSeq} (hash ${summary.lastHash})`,
        );
      }
    });
}
