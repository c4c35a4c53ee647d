import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { PlannedOperation } from "../domain/access-types.js";
import { formatConfigIssue } from "../policy/config-issues.js";
import { validateConfigFile } from "../policy/config-loader.js";
import type { TenureConfig } from "../policy/config-types.js";
import { InvalidInputError } from "../shared/errors.js";
import type { Store } from "../store/database.js";
import { type PlanPreview, previewPlan } from "./access-queries.js";
import { type NewViolation, newViolations } from "./sod-scan.js";

/** The largest candidate configuration a preview reads: a policy file, not a data file. */
export const CANDIDATE_MAX_BYTES = 512 * 1024;

/** What a change of tenure.yaml would do, before anyone loads it. */
export interface ConfigChangePreview {
  current: Omit<PlanPreview, "plan">;
  candidate: Omit<PlanPreview, "plan">;
  /** What the change itself adds: the operations the candidate plans and the current policy does not. */
  blastRadius: {
    identities: number;
    operations: number;
    bySystem: Array<{ system: string; byKind: Record<string, number> }>;
  };
  /** Identities the candidate would put in violation of a separation-of-duties rule that the current one does not. */
  sod: { newViolations: NewViolation[] };
}

/** The name the candidate's problems are reported under: `candidate.yaml:LINE:COLUMN: path: message`. */
const CANDIDATE_FILE = "candidate.yaml";

/**
 * The plan under a candidate tenure.yaml, beside the plan under the one loaded, and the difference: the
 * blast radius of a policy change (a role's rule, an entitlement, a lifecycle setting), shown before it
 * is made. Changes nothing and contacts no system. The candidate may not hold `${env:…}` or `${file:…}`
 * references: resolving them would let whoever previews read the server's environment and files.
 * @throws InvalidInputError (422) with every problem of the candidate at its line.
 */
export async function previewConfigChange(
  store: Store,
  current: TenureConfig,
  candidateText: string,
  at: Date,
): Promise<ConfigChangePreview> {
  if (Buffer.byteLength(candidateText, "utf8") > CANDIDATE_MAX_BYTES) {
    throw new InvalidInputError(`the candidate configuration is larger than ${CANDIDATE_MAX_BYTES} bytes`);
  }
  const reference = /\$\{(env|file):/.exec(candidateText);
  if (reference !== null) {
    const line = candidateText.slice(0, reference.index).split("\n").length;
    const message = `${CANDIDATE_FILE}:${line}: a preview does not resolve \${${reference[1]}:…} references; leave secrets out of the candidate (the systems are not contacted)`;
    throw new InvalidInputError(`the candidate configuration has a problem:\n${message}`, [message]);
  }
  const dir = await mkdtemp(path.join(os.tmpdir(), "tenure-preview-"));
  let candidate: TenureConfig;
  try {
    const file = path.join(dir, CANDIDATE_FILE);
    await writeFile(file, candidateText, { mode: 0o600 });
    const { config, errors } = await validateConfigFile(file, { env: {} });
    if (config === undefined || errors.length > 0) {
      const lines = errors.map((e) => formatConfigIssue({ ...e, file: CANDIDATE_FILE }));
      throw new InvalidInputError(
        `the candidate configuration has ${lines.length} problem${lines.length === 1 ? "" : "s"}:\n${lines.join("\n")}`,
        lines,
      );
    }
    // Where data lives is the installation's, whatever the candidate says: only the policy is previewed.
    candidate = { ...config, database: current.database, baseDir: current.baseDir };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  const options = { at, future: false };
  const { plan: _a, ...before } = await previewPlan(store, current, options);
  const { plan: _b, ...after } = await previewPlan(store, candidate, options);
  return {
    current: before,
    candidate: after,
    blastRadius: blastRadius(before.operations, after.operations),
    sod: { newViolations: await newViolations(store, candidate, at, current) },
  };
}

function blastRadius(
  before: readonly PlannedOperation[],
  after: readonly PlannedOperation[],
): ConfigChangePreview["blastRadius"] {
  const planned = new Set(before.map((op) => op.idempotencyKey));
  const added = after.filter((op) => !planned.has(op.idempotencyKey));
  const bySystem = new Map<string, Record<string, number>>();
  for (const op of added) {
    const kinds = bySystem.get(op.system) ?? {};
    kinds[op.kind] = (kinds[op.kind] ?? 0) + 1;
    bySystem.set(op.system, kinds);
  }
  return {
    identities: new Set(added.map((op) => op.identityId).filter((id) => id !== null)).size,
    operations: added.length,
    bySystem: [...bySystem].map(([system, byKind]) => ({ system, byKind })),
  };
}
