import { createHash } from "node:crypto";
import { mkdir, readdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { verifyLedger } from "../audit/ledger.js";
import { configsDuring } from "../engine/config-versions.js";
import type { TenureConfig } from "../policy/config-types.js";
import { InvalidInputError } from "../shared/errors.js";
import { reviewCampaignRepository } from "../store/review-repository.js";
import type { Store } from "../store/store-types.js";
import type { Period } from "./evidence-period.js";
import { verifyPublishedHeads } from "./ledger-proof.js";
import { REPORTS } from "./report-registry.js";
import { renderReport } from "./report-render.js";
import { ITEM_COLUMNS, itemRows } from "./review-report.js";
import { toCsv } from "./sod-reports.js";

/**
 * `tenure evidence`: one folder an auditor can take away for a period — every report (HTML for people,
 * CSV and JSON for their tools), the ledger's verification with its head hash, each configuration in
 * force during the period with its hash, an index mapping every file to the SOC 2 and ISO 27001
 * controls it is evidence for, and a manifest of SHA-256 sums (`sha256sum -c MANIFEST.sha256`).
 */

/** SOC 2 (2017 TSC) and ISO/IEC 27001:2022 Annex A controls each kind of evidence supports. */
const CONTROLS: Record<string, readonly string[]> = {
  leavers: ["SOC 2 CC6.2", "SOC 2 CC6.3", "ISO 27001 A.5.16", "ISO 27001 A.5.18"],
  "terminated-enabled": ["SOC 2 CC6.2", "ISO 27001 A.5.18"],
  "orphan-accounts": ["SOC 2 CC6.1", "SOC 2 CC6.2", "ISO 27001 A.5.16"],
  "privileged-access": ["SOC 2 CC6.1", "SOC 2 CC6.3", "ISO 27001 A.8.2"],
  "access-changes": ["SOC 2 CC6.2", "SOC 2 CC6.3", "SOC 2 CC7.2", "ISO 27001 A.5.15", "ISO 27001 A.5.18"],
  campaigns: ["SOC 2 CC6.2", "SOC 2 CC6.3", "ISO 27001 A.5.18"],
  "nhi-risks": ["SOC 2 CC6.1", "SOC 2 CC6.2", "ISO 27001 A.5.16", "ISO 27001 A.5.17", "ISO 27001 A.5.18"],
  "sod-rules": ["SOC 2 CC6.3", "ISO 27001 A.5.15"],
  "sod-violations": ["SOC 2 CC6.3", "ISO 27001 A.5.15"],
  "sod-exceptions": ["SOC 2 CC6.3", "ISO 27001 A.5.15"],
  "sod-history": ["SOC 2 CC6.3", "ISO 27001 A.5.15"],
  ledger: ["SOC 2 CC7.2", "ISO 27001 A.5.15"],
  configuration: ["SOC 2 CC6.1", "SOC 2 CC6.3", "ISO 27001 A.5.15", "ISO 27001 A.5.17", "ISO 27001 A.5.18"],
};

export interface EvidenceFile {
  /** Relative to the pack's folder, with forward slashes. */
  file: string;
  what: string;
  controls: readonly string[];
  sha256: string;
  bytes: number;
}

export interface EvidencePack {
  period: { label: string; from: string; to: string };
  generatedAt: string;
  folder: string;
  files: EvidenceFile[];
  ledger: { ok: boolean; checked: number; headSeq: number; headHash: string; problem: string | null };
  /** Published heads checked (audit.publish); `ok` false when one does not hold. */
  publishedHeads: { ok: boolean; checked: number; signaturesChecked: boolean };
  configurations: Array<{ hash: string; since: string }>;
  alerts: string[];
}

export interface EvidenceOptions {
  period: Period;
  /** The folder to write: absent or empty (a pack never mixes with other files). */
  out: string;
  now: Date;
  onProgress?: (done: number, total: number, label: string) => void;
}

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

async function emptyFolder(folder: string): Promise<void> {
  const entries = await readdir(folder).catch((err: NodeJS.ErrnoException) => {
    if (err.code === "ENOENT") return [];
    throw new InvalidInputError(`--out ${folder}: cannot be read (${err.code ?? err.message})`);
  });
  if (entries.length > 0)
    throw new InvalidInputError(
      `--out ${folder} is not empty: an evidence pack is written to a new or empty folder`,
    );
}

export async function writeEvidencePack(
  store: Store,
  config: TenureConfig,
  options: EvidenceOptions,
): Promise<EvidencePack> {
  const { period, out, now } = options;
  const folder = path.resolve(out);
  await emptyFolder(folder);
  const files: EvidenceFile[] = [];
  const alerts: string[] = [];
  const write = async (file: string, text: string, what: string, controls: readonly string[]) => {
    const full = path.join(folder, ...file.split("/"));
    await mkdir(path.dirname(full), { recursive: true });
    await writeFile(full, text, { mode: 0o644 });
    files.push({ file, what, controls, sha256: sha256(text), bytes: Buffer.byteLength(text) });
  };
  // Verified first: from a chain that does not verify, the pack holds that verdict and no report.
  const verification = await verifyLedger(store.db);
  const total = REPORTS.length + 2;
  let done = 0;
  const step = (label: string) => options.onProgress?.(++done, total, label);

  for (const definition of verification.ok ? REPORTS : []) {
    // The chain was verified above: once for the whole pack, not again by each report of the period.
    const run = definition.runOnVerifiedLedger ?? definition.run;
    const report = await run(store, config, {
      now,
      ...(definition.period ? { from: period.from, to: period.to } : {}),
    });
    const controls = CONTROLS[definition.name] ?? [];
    const when = definition.period ? `for ${period.label}` : `as of ${now.toISOString()}`;
    for (const format of ["html", "csv", "json"] as const) {
      await write(
        `reports/${definition.name}.${format}`,
        renderReport(report, format),
        `${report.title}, ${when}`,
        controls,
      );
    }
    for (const alert of report.alerts) alerts.push(`${definition.name}: ${alert}`);
    step(definition.name);
  }

  // Each campaign of the period item by item: the access at its start, each decision, the removal
  // applied and when the target confirmed it — the detail behind the campaigns report.
  const campaigns = (
    verification.ok ? await reviewCampaignRepository.list(store.db, { limit: 100_000 }) : []
  ).filter((c) => c.startedAt >= period.from.toISOString() && c.startedAt < period.to.toISOString());
  for (const c of campaigns.reverse()) {
    await write(
      `reviews/${c.startedAt.slice(0, 10)}-${c.definition}-${c.id.slice(0, 8)}.csv`,
      toCsv(await itemRows(store, c.id), ITEM_COLUMNS),
      `Access review ${c.definition} started ${c.startedAt} (${c.status}): every item with its risk, reviewer, decision, removal and confirmation in the target`,
      CONTROLS.campaigns!,
    );
  }

  const head = await store.db
    .selectFrom("audit_head")
    .select(["seq", "hash"])
    .where("id", "=", 1)
    .executeTakeFirstOrThrow();
  const ledger = {
    ok: verification.ok,
    checked: verification.checked,
    headSeq: Number(head.seq),
    headHash: head.hash,
    problem: verification.problem ?? null,
  };
  if (!ledger.ok)
    alerts.push(
      `ledger: verification failed at event ${verification.firstBadSeq}: ${ledger.problem}; no report was written from it`,
    );
  await write(
    "ledger/verification.json",
    `${JSON.stringify({ ...ledger, firstBadSeq: verification.firstBadSeq ?? null, verifiedAt: now.toISOString() }, null, 2)}\n`,
    "The audit ledger's hash chain verified end to end, with its head (seq and hash) at the time of the pack",
    CONTROLS.ledger!,
  );
  // Heads published outside the database (audit.publish): a replaced database fails against them.
  const heads = await verifyPublishedHeads(store.db, config, {});
  if (!heads.ok)
    for (const m of heads.mismatches)
      alerts.push(`ledger: published head at ${m.seq} (${m.source}) does not hold: ${m.problem}`);
  await write(
    "ledger/published-heads.json",
    `${JSON.stringify({ ...heads, verifiedAt: now.toISOString() }, null, 2)}\n`,
    heads.checked + heads.archived === 0
      ? "Signed ledger heads published outside the database: none were published (audit.publish is not configured)"
      : "Every signed ledger head published outside the database, checked against the chain and the signing key",
    CONTROLS.ledger!,
  );
  step("ledger");

  const configs = await configsDuring(store, period.from, period.to);
  for (const c of configs) {
    await write(
      `configuration/${c.since.slice(0, 10)}-${c.hash.slice(0, 12)}.yaml`,
      c.text,
      `The configuration in force from ${c.since} (SHA-256 ${c.hash}; secrets redacted)`,
      CONTROLS.configuration!,
    );
  }
  if (configs.length === 0)
    alerts.push(
      "configuration: no configuration was recorded as in force during the period (no run recorded one)",
    );
  step("configuration");

  const pack: EvidencePack = {
    period: { label: period.label, from: period.from.toISOString(), to: period.to.toISOString() },
    generatedAt: now.toISOString(),
    folder,
    files: [...files],
    ledger,
    publishedHeads: { ok: heads.ok, checked: heads.checked, signaturesChecked: heads.signaturesChecked },
    configurations: configs.map((c) => ({ hash: c.hash, since: c.since })),
    alerts,
  };
  await write(
    "index.json",
    `${JSON.stringify({ ...pack, folder: undefined }, null, 2)}\n`,
    "This index, for machines",
    [],
  );
  await write("INDEX.md", indexMarkdown(pack), "This index, for people", []);
  const manifest = files.map((f) => `${f.sha256}  ${f.file}\n`).join("");
  await writeFile(path.join(folder, "MANIFEST.sha256"), manifest, { mode: 0o644 });
  return { ...pack, files };
}

function indexMarkdown(pack: EvidencePack): string {
  const byControl = new Map<string, string[]>();
  for (const f of pack.files)
    for (const c of f.controls) byControl.set(c, [...(byControl.get(c) ?? []), f.file]);
  const lines = [
    `# Access evidence for ${pack.period.label}`,
    "",
    `Period ${pack.period.from} to ${pack.period.to} (end exclusive); generated ${pack.generatedAt} by Tenure.`,
    "",
    `Ledger: ${pack.ledger.ok ? "verified" : "VERIFICATION FAILED"} — ${pack.ledger.checked} events, head seq ${pack.ledger.headSeq}, hash \`${pack.ledger.headHash}\`.`,
    "",
    `Published heads: ${pack.publishedHeads.checked === 0 ? "none published" : `${pack.publishedHeads.checked} checked, ${pack.publishedHeads.ok ? "all hold" : "SOME DO NOT HOLD"}${pack.publishedHeads.signaturesChecked ? "" : " (signatures not checked: no key configured)"}`}.`,
    "",
    "Every file's SHA-256 is in `MANIFEST.sha256`: `sha256sum -c MANIFEST.sha256` in this folder checks them.",
    "",
  ];
  if (pack.alerts.length > 0) lines.push("## Alerts", "", ...pack.alerts.map((a) => `- ${a}`), "");
  lines.push("## Files", "", "| file | what it is | controls |", "| --- | --- | --- |");
  for (const f of pack.files)
    lines.push(`| \`${f.file}\` | ${f.what.replaceAll("|", "\\|")} | ${f.controls.join(", ")} |`);
  lines.push("", "## By control", "");
  for (const c of [...byControl.keys()].sort()) {
    const list = [...new Set((byControl.get(c) ?? []).map((f) => f.replace(/\.(html|csv|json)$/, ".*")))];
    lines.push(`- **${c}**: ${list.map((f) => `\`${f}\``).join(", ")}`);
  }
  return `${lines.join("\n")}\n`;
}
