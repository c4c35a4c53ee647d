import type {
  CertificateFinding,
  CertificateFindingSeverity,
  CertificatePolicy,
  CertificateRecord,
} from "./certificate-types.js";
import { formatDuration } from "./duration.js";

/**
 * What is wrong with a certificate under a policy, at a given time (issue 17): expired, expiring within
 * a warning, not valid yet, a key or a signature hash too weak. Pure: `now` is a parameter, and the
 * records come from `workflows/certificate-inventory.ts`.
 */

const DAY_MS = 86_400_000;
/** Longest path or subject quoted in a message. */
const MAX_IN_MESSAGE = 300;

/** The key types whose strength is the modulus size (`minRsaBits`). */
const MODULUS_KEYS = new Set(["RSA", "RSA-PSS", "DSA"]);

/** The expiry warning a certificate is within, and how loud it is. */
export interface ExpiryWarning {
  /** The smallest configured warning the time left is within, in milliseconds. */
  threshold: number;
  severity: CertificateFindingSeverity;
}

/**
 * The warning that applies when `remainingMs` are left before expiry, or undefined when none does (not
 * within any warning, or already expired: `remainingMs < 0`). Within means `remainingMs <= threshold`.
 * The smallest warning that applies is the one reported; the nearest configured warning is `high`, the
 * farthest `low` when there are three or more, any other `medium`.
 */
export function expiryWarning(remainingMs: number, warnings: readonly number[]): ExpiryWarning | undefined {
  if (remainingMs < 0) return undefined;
  const sorted = [...new Set(warnings)].filter((w) => w > 0).sort((a, b) => a - b);
  const at = sorted.findIndex((threshold) => remainingMs <= threshold);
  if (at === -1) return undefined;
  const severity: CertificateFindingSeverity =
    at === 0 ? "high" : at === sorted.length - 1 && sorted.length >= 3 ? "low" : "medium";
  return { threshold: sorted[at] as number, severity };
}

/**
 * Every finding for one certificate at `now`, in a fixed order: validity (`expired`, `expires_soon` or
 * `not_yet_valid`), then `weak_key`, then `weak_signature`. Validity is inclusive at both ends, as in
 * RFC 5280: a certificate is expired only after its `notAfter`. A key of unknown size or type, and a
 * signature without a known hash, are not reported as weak: nothing is guessed.
 */
export function certificateFindings(
  record: CertificateRecord,
  policy: CertificatePolicy,
  now: Date,
): CertificateFinding[] {
  const findings: CertificateFinding[] = [];
  const at = now.getTime();
  const notAfter = Date.parse(record.notAfter);
  const notBefore = Date.parse(record.notBefore);
  const about = { path: record.path, index: record.index, subject: record.subject };
  const name = describeCertificate(record);

  if (at > notAfter) {
    findings.push({
      ...about,
      code: "expired",
      severity: "high",
      message: `${name}: expired on ${record.notAfter} (${ago(at - notAfter)})`,
    });
  } else {
    const warning = expiryWarning(notAfter - at, policy.warnings);
    if (warning !== undefined) {
      findings.push({
        ...about,
        code: "expires_soon",
        severity: warning.severity,
        threshold: warning.threshold,
        message: `${name}: expires on ${record.notAfter} (${ahead(notAfter - at)}), within the ${warningName(warning.threshold)} warning`,
      });
    }
  }
  if (at < notBefore) {
    findings.push({
      ...about,
      code: "not_yet_valid",
      severity: "medium",
      message: `${name}: not valid before ${record.notBefore} (${ahead(notBefore - at)})`,
    });
  }

  const weakKey = weakKeyReason(record, policy);
  if (weakKey !== undefined) {
    findings.push({ ...about, code: "weak_key", severity: "high", message: `${name}: ${weakKey}` });
  }

  const hash = record.signatureHash;
  if (hash !== null && policy.forbiddenSignatureHashes.some((f) => sameHash(f, hash))) {
    findings.push({
      ...about,
      code: "weak_signature",
      severity: "high",
      message: `${name}: signed with ${hash} (${record.signatureAlgorithm}), a forbidden hash`,
    });
  }
  return findings;
}

/**
 * The finding for a file that holds `count` private keys next to (or instead of) certificates. Says
 * where (the file, the line the first key begins on), never anything of a key.
 */
export function privateKeyFinding(path: string, firstLine: number, count = 1): CertificateFinding {
  const what =
    count === 1 ? `a private key (line ${firstLine})` : `${count} private keys (first at line ${firstLine})`;
  return {
    code: "private_key_in_bundle",
    severity: "high",
    path,
    message: `${printable(path)}: holds ${what}; keep private keys out of certificate files and folders`,
  };
}

/** How a certificate is named in messages: `/etc/ssl/app.pem#0 (CN=api.example.com)`. */
export function describeCertificate(record: Pick<CertificateRecord, "path" | "index" | "subject">): string {
  return `${printable(record.path)}#${record.index} (${printable(record.subject)})`;
}

function weakKeyReason(record: CertificateRecord, policy: CertificatePolicy): string | undefined {
  const { keyType, keySize } = record;
  if (keySize === null) return undefined;
  if (MODULUS_KEYS.has(keyType) && keySize < policy.minRsaBits) {
    return `${keyType} key of ${keySize} bits, below the minimum of ${policy.minRsaBits}`;
  }
  if (keyType === "EC" && keySize < policy.minEcBits) {
    const curve = record.curve === null ? "" : ` (${record.curve})`;
    return `EC key of ${keySize} bits${curve}, below the minimum of ${policy.minEcBits}`;
  }
  return undefined;
}

/** `SHA-1`, `sha1` and `SHA1` name the same hash. */
function sameHash(a: string, b: string): boolean {
  const norm = (h: string) => h.replace(/[-_\s]/g, "").toUpperCase();
  return norm(a) === norm(b);
}

/** A warning as it is usually written: in days when whole days (`7d`, not `1w`). */
function warningName(ms: number): string {
  return ms % DAY_MS === 0 ? `${ms / DAY_MS}d` : formatDuration(ms);
}

function ago(ms: number): string {
  const days = Math.floor(ms / DAY_MS);
  return days === 0 ? "less than a day ago" : days === 1 ? "1 day ago" : `${days} days ago`;
}

function ahead(ms: number): string {
  const days = Math.floor(ms / DAY_MS);
  return days === 0 ? "in less than a day" : days === 1 ? "in 1 day" : `in ${days} days`;
}

/**
 * A path or a name fit for a one-line message: control characters (a newline in a file name, in a
 * certificate's subject) replaced, length bounded. Both are input, and can be made to hold anything.
 */
export function printable(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point.
  const clean = text.replace(/[\u0000-\u001f\u007f-\u009f]/g, "\uFFFD");
  return clean.length <= MAX_IN_MESSAGE ? clean : `${clean.slice(0, MAX_IN_MESSAGE)}…`;
}
