import { configSource } from "../policy/config-source.js";
import type { TenureConfig } from "../policy/config-types.js";

/**
 * `tenure check`: what a CI pipeline refuses to deploy, read from the configuration and the files it
 * names, without a database — so it runs on a pull request. One finding per problem, each with where
 * it is (file:line) and what to do. Checks: secrets written out in tenure.yaml instead of a reference.
 */

export interface CheckFinding {
  code: string;
  severity: "error" | "warning";
  /** file:line:column, or a file, or the NHI's name. */
  where: string;
  message: string;
}

/** A secret field written out: it belongs in the environment or a secret file, never in the repository. */
function inlineSecretFindings(config: TenureConfig): CheckFinding[] {
  const source = configSource(config);
  if (source === undefined) return [];
  return source.inlineSecrets.map((s) => ({
    code: "inline_secret",
    severity: "error",
    where: `${source.path}:${s.line}:${s.column}`,
    message: `${s.path} holds a secret written out: reference it as \${env:NAME} or \${file:PATH} instead (the value is not shown)`,
  }));
}

/** Every finding for `config` at `now`, errors first, then by where. */
export async function runChecks(config: TenureConfig, _now: Date): Promise<CheckFinding[]> {
  const findings = [...inlineSecretFindings(config)];
  return findings.sort(
    (a, b) =>
      (a.severity === b.severity ? 0 : a.severity === "error" ? -1 : 1) ||
      a.where.localeCompare(b.where, undefined, { numeric: true }),
  );
}
