import { resolve } from "node:path";
import { z } from "zod";
import { strictObject } from "../../config/schema-helpers.js";
import type { CertificatePolicy } from "../../domain/certificate-types.js";
import { durationSchema } from "./requestable-schema.js";

/** Hashes a `forbiddenSignatureHashes` entry may name (`CertificateRecord.signatureHash`). */
const SIGNATURE_HASHES = ["MD2", "MD4", "MD5", "SHA-1", "SHA-224", "SHA-256", "SHA-384", "SHA-512"] as const;

const bits = (what: string) => {
  const expected = `expected the smallest ${what} key size in bits, a whole number from 1 to 16384`;
  return z.number({ error: expected }).int({ error: expected }).min(1, { error: expected }).max(16_384, {
    error: expected,
  });
};

/**
 * `nhi.certificates` — the certificate inventory (docs/certificates.md): which PEM files and folders to
 * read, how long before expiry to warn, and what counts as weak.
 *
 * ```yaml
 * certificates:
 *   paths: [./certs, /etc/ssl/app.pem]   # relative to the config file's folder
 *   warnings: [30d, 7d, 1d]
 *   minRsaBits: 2048
 *   minEcBits: 256
 *   forbiddenSignatureHashes: [MD5, SHA-1]
 * ```
 */
export const nhiCertificatesSchema = strictObject({
  paths: z
    .array(z.string().min(1, { error: "expected the path of a PEM file or a folder of them" }), {
      error: "expected a list of PEM files and folders",
    })
    .min(1, { error: "expected at least one PEM file or folder" }),
  warnings: z
    .array(durationSchema, { error: "expected a list of durations before expiry, e.g. [30d, 7d, 1d]" })
    .prefault(["30d", "7d", "1d"]),
  minRsaBits: bits("RSA").default(2048),
  minEcBits: bits("EC").default(256),
  forbiddenSignatureHashes: z
    .array(z.enum(SIGNATURE_HASHES, { error: `expected a hash: ${SIGNATURE_HASHES.join(", ")}` }))
    .default(["MD2", "MD4", "MD5", "SHA-1"]),
});

/** `nhi.certificates` resolved: absolute paths, and the policy `domain/certificate-findings.ts` applies. */
export interface NhiCertificatesConfig extends CertificatePolicy {
  /** Absolute paths of the PEM files and folders to read. */
  readonly paths: readonly string[];
}

/** Makes the paths absolute against the config file's folder `baseDir`; warnings sorted farthest first. */
export function resolveNhiCertificates(
  value: z.output<typeof nhiCertificatesSchema>,
  baseDir: string,
): NhiCertificatesConfig {
  return {
    paths: value.paths.map((path) => resolve(baseDir, path)),
    warnings: [...new Set(value.warnings)].sort((a, b) => b - a),
    minRsaBits: value.minRsaBits,
    minEcBits: value.minEcBits,
    forbiddenSignatureHashes: value.forbiddenSignatureHashes,
  };
}
