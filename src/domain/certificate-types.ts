/**
 * Certificates as the inventory reads them (issue 17, certificates of non-human identities): one record
 * per X.509 certificate found in a PEM (or DER) file, and the policy they are checked against. The
 * reading is `workflows/certificate-inventory.ts`; the checking, pure, is `certificate-findings.ts`.
 */

/** The public key's algorithm, as people name it; `DSA` and anything unrecognised are kept too. */
export type CertificateKeyType = "RSA" | "RSA-PSS" | "EC" | "Ed25519" | "Ed448" | "DSA" | (string & {});

/** One certificate of one file. Holds public data only: never a private key or any part of one. */
export interface CertificateRecord {
  /** Absolute path of the file it was read from. */
  path: string;
  /** 0-based position among the certificates of that file (a bundle holds several). */
  index: number;
  /** Distinguished name, RFC 4514 style: `CN=api.example.com, O=Acme`. */
  subject: string;
  issuer: string;
  /** Hexadecimal, as issued. */
  serialNumber: string;
  /** Subject alternative names, OpenSSL style: `DNS:api.example.com`, `IP:10.0.0.1`, `email:…`, `URI:…`. */
  sans: string[];
  keyType: CertificateKeyType;
  /** Key size in bits: the modulus for RSA/DSA, the curve's size for EC and EdDSA; null when unknown. */
  keySize: number | null;
  /** The named curve of an EC or EdDSA key (`P-256`, `secp256k1`, `Ed25519`); null for other keys. */
  curve: string | null;
  /** How the issuer signed it: `RSASSA-PKCS1-v1_5 with SHA-256`, `ECDSA with SHA-384`, `Ed25519`, … */
  signatureAlgorithm: string;
  /** The hash of that signature (`SHA-1`, `SHA-256`, `MD5`); null when the algorithm names none (EdDSA). */
  signatureHash: string | null;
  /** Validity, ISO-8601 UTC. */
  notBefore: string;
  notAfter: string;
  /** SHA-256 of the DER encoding, upper-case hex pairs joined by colons, as `openssl x509 -fingerprint`. */
  sha256Fingerprint: string;
  /** Issued by itself: subject and issuer are the same name (a root or a self-made certificate). */
  selfSigned: boolean;
}

/** What certificates are checked against (`nhi.certificates` in tenure.yaml, resolved). */
export interface CertificatePolicy {
  /** How long before expiry to warn, in milliseconds, e.g. 30, 7 and 1 days; any order. */
  readonly warnings: readonly number[];
  /** Smallest acceptable RSA (and DSA) modulus, in bits. */
  readonly minRsaBits: number;
  /** Smallest acceptable EC curve size, in bits. */
  readonly minEcBits: number;
  /** Signature hashes that make a certificate weak, as in {@link CertificateRecord.signatureHash}. */
  readonly forbiddenSignatureHashes: readonly string[];
}

export type CertificateFindingCode =
  | "expired"
  | "expires_soon"
  | "not_yet_valid"
  | "weak_key"
  | "weak_signature"
  | "private_key_in_bundle";

export type CertificateFindingSeverity = "high" | "medium" | "low";

/** Something wrong with a certificate, or with a file of certificates. */
export interface CertificateFinding {
  code: CertificateFindingCode;
  severity: CertificateFindingSeverity;
  /** The file. */
  path: string;
  /** The certificate's position in the file; absent for a finding about the file (`private_key_in_bundle`). */
  index?: number;
  /** The certificate's subject; absent for a finding about the file. */
  subject?: string;
  /** For `expires_soon`: the warning it is within, in milliseconds. */
  threshold?: number;
  /** One line, naming the file, the certificate (`path#index`, subject) and what is wrong. */
  message: string;
}
