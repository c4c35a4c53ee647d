import { type NhiFinding, nhiFindings } from "../domain/nhi-findings.js";
import type { NhiDeclaration, NonHumanIdentity } from "../domain/nhi-types.js";
import { configSource } from "../policy/config-source.js";
import type { TenureConfig } from "../policy/config-types.js";
import { inventoryCertificates } from "./certificate-inventory.js";

/**
 * `tenure check`: what a CI pipeline refuses to deploy, read from the configuration and the files it
 * names, without a database — so it runs on a pull request. One finding per problem, each with where
 * it is (file:line) and what to do. Checks: secrets written out in tenure.yaml instead of a reference;
 * each declared NHI (tenure.yaml and inventory files) against `nhi.policy` — no owner, a credential past
 * its maximum age, expired or expiring within a warning window, a scope not allowed, and (as warnings)
 * one unused, or holding a scope unused, past `nhi.policy.unusedAfter` where the inventory knows its last
 * use; and the
 * certificates `nhi.certificates` names — expired, expiring within the window, weak, unreadable.
 * Whether a declared owner still works here needs the store: `tenure nhi list --findings` says.
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

/** A declared NHI as the store would hold it before anyone resolved its owner. */
function asDeclared(d: NhiDeclaration): NonHumanIdentity {
  return {
    id: d.name,
    name: d.name,
    type: d.type,
    system: d.system,
    purpose: d.purpose,
    ownerKey: d.owner,
    // Declared is all CI can know: the owner's identity is resolved against the store.
    ownerId: d.owner,
    ownerSince: null,
    coOwnerKeys: d.coOwners,
    createdOn: d.created,
    lastRotatedAt: d.lastRotated,
    expiresAt: d.expires,
    lastUsedAt: d.lastUsed,
    scopes: d.scopes,
    scopeLastUsed: d.scopeLastUsed,
    ownerAssignment: null,
    entitlements: d.entitlements,
    origin: d.origin,
    account: null,
    pendingOwnerId: null,
    pendingSince: null,
    pendingDeadline: null,
    ownerlessReason: null,
    disabledReason: null,
    disabledAt: null,
    removedAt: null,
    createdAt: "",
    updatedAt: "",
    version: 0,
  };
}

/** An unused NHI or grant is worth a line, not a failed deployment: it is a warning, like a low finding. */
const severityOf = (f: NhiFinding): CheckFinding["severity"] =>
  f.severity === "low" || f.code === "unused" || f.code === "unused_grant" ? "warning" : "error";

function nhiCheckFindings(config: TenureConfig, now: Date): CheckFinding[] {
  const nhi = config.nhi;
  if (nhi === undefined) return [];
  return nhi.inventory.flatMap((d) =>
    nhiFindings(asDeclared(d), { state: "active" }, nhi.policy, now).map((f) => ({
      code: `nhi_${f.code}`,
      severity: severityOf(f),
      where: `${d.location.file}:${d.location.line}:${d.location.column}`,
      message: f.message,
    })),
  );
}

async function certificateCheckFindings(config: TenureConfig, now: Date): Promise<CheckFinding[]> {
  const certificates = config.nhi?.certificates;
  if (certificates === undefined) return [];
  const inventory = await inventoryCertificates(certificates, now);
  return [
    ...inventory.errors.map((e) => ({
      code: `certificate_${e.code}`,
      severity: "error" as const,
      where: e.index === undefined ? e.path : `${e.path}#${e.index}`,
      message: e.message,
    })),
    ...inventory.findings.map((f) => ({
      code: `certificate_${f.code}`,
      severity: f.code === "not_yet_valid" ? ("warning" as const) : ("error" as const),
      where: f.index === undefined ? f.path : `${f.path}#${f.index}`,
      message: f.message,
    })),
  ];
}

/** Every finding for `config` at `now`, errors first, then by where. */
export async function runChecks(config: TenureConfig, now: Date): Promise<CheckFinding[]> {
  const findings = [
    ...inlineSecretFindings(config),
    ...nhiCheckFindings(config, now),
    ...(await certificateCheckFindings(config, now)),
  ];
  return findings.sort(
    (a, b) =>
      (a.severity === b.severity ? 0 : a.severity === "error" ? -1 : 1) ||
      a.where.localeCompare(b.where, undefined, { numeric: true }),
  );
}
