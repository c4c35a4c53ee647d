// @peculiar/x509 resolves its parts with tsyringe, which needs the Reflect metadata API: the polyfill
// has to be loaded before the library, so this import stays first.
import "reflect-metadata";
import { createHash, createPublicKey, webcrypto } from "node:crypto";
import { constants, type Dirent } from "node:fs";
import { lstat, open, readdir, realpath, stat } from "node:fs/promises";
import { extname, join, resolve } from "node:path";
import * as x509 from "@peculiar/x509";
import { certificateFindings, printable, privateKeyFinding } from "../domain/certificate-findings.js";
import type {
  CertificateFinding,
  CertificatePolicy,
  CertificateRecord,
} from "../domain/certificate-types.js";

/**
 * The certificate inventory (issue 17): reads X.509 certificates from PEM files and folders into
 * `CertificateRecord`s, and checks them with the pure `domain/certificate-findings.ts`.
 *
 * Reading is bounded (file size, file count, certificates per file), never throws for one bad file or
 * certificate (each is a `CertificateReadError` saying what and where), follows symbolic links but
 * never the same folder twice (no loop), and never reads anything but regular files. Private keys
 * found in a file are never decoded: the file is reported (`private_key_in_bundle`) by path and line.
 */

// Parsing needs no crypto; thumbprints and signature checks by the library do, and use Node's.
x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const MIB = 1024 * 1024;

/** Limits of one read. Defaults: 1 MiB per file, 10,000 files, 1,000 certificates per file. */
export interface CertificateReadOptions {
  /** Larger files are not read (`too_large`). */
  maxFileBytes?: number;
  /** Files read in all, across every path; past it the read stops (`too_many_files`). */
  maxFiles?: number;
  /** Certificates read from one file; the rest of it is skipped (`too_many_certificates`). */
  maxCertificatesPerFile?: number;
}

export type CertificateReadErrorCode =
  | "not_found"
  | "unreadable"
  | "too_large"
  | "not_certificate"
  | "invalid_certificate"
  | "too_many_files"
  | "too_many_certificates";

/** A file, or one certificate in it, that could not be read. */
export interface CertificateReadError {
  code: CertificateReadErrorCode;
  /** The file or folder. */
  path: string;
  /** The certificate's position in the file, when the problem is one certificate of it. */
  index?: number;
  /** One line: where (`path` or `path#index`) and what. Never quotes the file's content. */
  message: string;
}

/** What a read found. Records and errors are in path order, folders walked in name order. */
export interface CertificateInventory {
  records: CertificateRecord[];
  errors: CertificateReadError[];
  /** Findings about files (`private_key_in_bundle`); `inventoryCertificates` adds the certificates'. */
  findings: CertificateFinding[];
  /** Files opened, certificates or not. */
  filesRead: number;
}

/** File names a folder walk reads; a path given directly is read whatever its name. */
const CERTIFICATE_EXTENSIONS = new Set([".pem", ".crt", ".cer"]);
/** PEM labels of a certificate (OpenSSL also writes the older and the "trusted" forms). */
const CERTIFICATE_LABELS = new Set(["CERTIFICATE", "X509 CERTIFICATE", "TRUSTED CERTIFICATE"]);
const PEM_BEGIN = /-----BEGIN ([A-Z0-9 ]{1,64})-----/g;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
/** DER starts with a SEQUENCE tag; PEM files are recognised by their BEGIN line. */
const DER_SEQUENCE = 0x30;

/**
 * Reads every certificate under `paths`: files (any name) and folders (recursively, `*.pem`, `*.crt`,
 * `*.cer`). PEM files may hold several certificates (a bundle); a file without any PEM block is tried
 * as one DER certificate. Relative paths resolve against the working directory. A file reached twice
 * (a link, a path listed twice) is read once.
 */
export async function readCertificates(
  paths: readonly string[],
  options: CertificateReadOptions = {},
): Promise<CertificateInventory> {
  const limits = {
    maxFileBytes: options.maxFileBytes ?? MIB,
    maxFiles: options.maxFiles ?? 10_000,
    maxCertificatesPerFile: options.maxCertificatesPerFile ?? 1_000,
  };
  const out: CertificateInventory = { records: [], errors: [], findings: [], filesRead: 0 };
  const seenFolders = new Set<string>();
  const seenFiles = new Set<string>();
  const fail = (code: CertificateReadErrorCode, path: string, what: string, index?: number): void => {
    const where = index === undefined ? printable(path) : `${printable(path)}#${index}`;
    out.errors.push({ code, path, ...(index === undefined ? {} : { index }), message: `${where}: ${what}` });
  };

  /** Reads one regular file; false once the file limit is reached (the read stops). */
  const readFile = async (path: string, real: string): Promise<boolean> => {
    if (seenFiles.has(real)) return true;
    if (out.filesRead >= limits.maxFiles) {
      fail("too_many_files", path, `not read: the limit of ${limits.maxFiles} files was reached`);
      return false;
    }
    seenFiles.add(real);
    out.filesRead++;
    const content = await readBounded(path, limits.maxFileBytes);
    if (content.kind === "error") fail(content.code, path, content.what);
    else parseFile(path, content.bytes, limits.maxCertificatesPerFile, out, fail);
    return true;
  };

  // Depth-first with an explicit stack, so a deep tree cannot overflow the call stack.
  for (const root of paths) {
    const stack: { path: string; given: boolean }[] = [{ path: resolve(root), given: true }];
    while (stack.length > 0) {
      const { path, given } = stack.pop() as { path: string; given: boolean };
      const kind = await kindOf(path);
      if (kind.kind === "error") {
        fail(kind.code, path, kind.what);
        continue;
      }
      if (kind.kind === "other") {
        if (given) fail("unreadable", path, "not a regular file or a folder");
        continue;
      }
      if (kind.kind === "file") {
        if (given || isCertificateName(path)) {
          if (!(await readFile(path, kind.real))) return out;
        }
        continue;
      }
      // A folder: each real folder once, which is what stops a link back up the tree from looping.
      if (seenFolders.has(kind.real)) continue;
      seenFolders.add(kind.real);
      let entries: Dirent[];
      try {
        entries = await readdir(path, { withFileTypes: true });
      } catch (error) {
        fail("unreadable", path, `folder unreadable (${errorCode(error)})`);
        continue;
      }
      // Files of other names, and FIFOs, sockets and devices, are passed over without a look.
      const names = entries
        .filter((e) => e.isDirectory() || e.isSymbolicLink() || (e.isFile() && isCertificateName(e.name)))
        .map((e) => e.name)
        .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      // Pushed in reverse so that they are taken in name order.
      for (const name of names.reverse()) stack.push({ path: join(path, name), given: false });
    }
  }
  return out;
}

/**
 * `readCertificates` and then every certificate checked against `policy` at `now`: the findings of
 * the read (private keys) first, then each certificate's, in record order.
 */
export async function inventoryCertificates(
  settings: { readonly paths: readonly string[] } & CertificatePolicy,
  now: Date,
  options: CertificateReadOptions = {},
): Promise<CertificateInventory> {
  const read = await readCertificates(settings.paths, options);
  const findings = [...read.findings];
  for (const record of read.records) findings.push(...certificateFindings(record, settings, now));
  return { ...read, findings };
}

function isCertificateName(name: string): boolean {
  return CERTIFICATE_EXTENSIONS.has(extname(name).toLowerCase());
}

type PathKind =
  | { kind: "file" | "folder"; real: string }
  | { kind: "other" }
  | { kind: "error"; code: CertificateReadErrorCode; what: string };

/** What a path is, through links. A link to nothing or a circle of links is an error. */
async function kindOf(path: string): Promise<PathKind> {
  try {
    const stats = await stat(path);
    if (!stats.isFile() && !stats.isDirectory()) return { kind: "other" };
    return { kind: stats.isFile() ? "file" : "folder", real: await realpath(path) };
  } catch (error) {
    const code = errorCode(error);
    if (code === "ELOOP") return { kind: "error", code: "unreadable", what: "symbolic link loop" };
    if (code === "ENOENT") {
      const dangling = await lstat(path).then(
        (s) => s.isSymbolicLink(),
        () => false,
      );
      return dangling
        ? { kind: "error", code: "unreadable", what: "symbolic link to nothing" }
        : { kind: "error", code: "not_found", what: "not found" };
    }
    return { kind: "error", code: "unreadable", what: `unreadable (${code})` };
  }
}

type ReadOutcome =
  | { kind: "ok"; bytes: Buffer }
  | { kind: "error"; code: "too_large" | "unreadable"; what: string };

/**
 * At most `maxBytes` of a regular file. Opened non-blocking and checked on the open descriptor, so a
 * file swapped for a FIFO after the walk looked at it cannot hang the read, and a file that grows
 * past the limit is refused rather than read in part.
 */
async function readBounded(path: string, maxBytes: number): Promise<ReadOutcome> {
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
    const stats = await handle.stat();
    if (!stats.isFile()) return { kind: "error", code: "unreadable", what: "not a regular file" };
    if (stats.size > maxBytes) return tooLarge(maxBytes);
    // Sized to the file, plus one byte to notice growth since the stat; grown up to the limit if so.
    let buffer = Buffer.allocUnsafe(Math.min(stats.size, maxBytes) + 1);
    let length = 0;
    for (;;) {
      if (length === buffer.length) {
        if (buffer.length > maxBytes) break;
        const larger = Buffer.allocUnsafe(maxBytes + 1);
        buffer.copy(larger);
        buffer = larger;
      }
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, length);
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    if (length > maxBytes) return tooLarge(maxBytes);
    return { kind: "ok", bytes: buffer.subarray(0, length) };
  } catch (error) {
    return { kind: "error", code: "unreadable", what: `unreadable (${errorCode(error)})` };
  } finally {
    await handle?.close();
  }
}

function tooLarge(maxBytes: number): ReadOutcome {
  return { kind: "error", code: "too_large", what: `larger than ${maxBytes} bytes, not read` };
}

type Fail = (code: CertificateReadErrorCode, path: string, what: string, index?: number) => void;

/** The certificates of one file's bytes into `out`; private keys only noted, by line. */
function parseFile(
  path: string,
  bytes: Buffer,
  maxCertificates: number,
  out: CertificateInventory,
  fail: Fail,
): void {
  // latin1 maps every byte to one character: offsets stay byte offsets, and no input is invalid.
  const text = bytes.toString("latin1");
  let index = 0;
  let keys = 0;
  let firstKeyLine = 0;
  let line = 1;
  let lineCountedTo = 0;
  let truncated = false;
  for (const begin of text.matchAll(PEM_BEGIN)) {
    const label = begin[1] as string;
    const start = begin.index;
    if (start < lineCountedTo) continue; // inside the previous block
    line += countNewlines(text, lineCountedTo, start);
    lineCountedTo = start;
    const endMarker = `-----END ${label}-----`;
    const bodyStart = start + begin[0].length;
    const end = text.indexOf(endMarker, bodyStart);
    const blockEnd = end === -1 ? text.length : end + endMarker.length;

    if (/PRIVATE KEY$/.test(label)) {
      // Never decoded, never copied: only where it is.
      if (keys === 0) firstKeyLine = line;
      keys++;
    } else if (CERTIFICATE_LABELS.has(label)) {
      if (index >= maxCertificates) {
        truncated = true;
      } else if (end === -1) {
        fail("invalid_certificate", path, `certificate at line ${line} has no END line`, index++);
      } else {
        const body = text.slice(bodyStart, end).replace(/\s+/g, "");
        if (!BASE64.test(body) || body.length === 0) {
          fail("invalid_certificate", path, `certificate at line ${line} is not valid base64`, index++);
        } else {
          addCertificate(path, index++, Buffer.from(body, "base64"), out, fail);
        }
      }
    }
    line += countNewlines(text, start, blockEnd);
    lineCountedTo = blockEnd;
  }
  if (keys > 0) out.findings.push(privateKeyFinding(path, firstKeyLine, keys));
  if (truncated) {
    fail(
      "too_many_certificates",
      path,
      `holds more than ${maxCertificates} certificates; the rest were not read`,
    );
  }
  if (index > 0 || keys > 0) return;
  if (bytes[0] === DER_SEQUENCE && !text.includes("-----BEGIN ")) {
    // No PEM block: maybe DER, as .cer and .crt files often are.
    try {
      out.records.push(toRecord(path, 0, new x509.X509Certificate(bytes)));
      return;
    } catch {
      // Falls through: not a certificate in either form.
    }
  }
  fail("not_certificate", path, "not a PEM certificate (no CERTIFICATE block, and not a DER certificate)");
}

function addCertificate(
  path: string,
  index: number,
  der: Buffer,
  out: CertificateInventory,
  fail: Fail,
): void {
  let record: CertificateRecord;
  try {
    record = toRecord(path, index, new x509.X509Certificate(der));
  } catch (error) {
    fail("invalid_certificate", path, `not a valid X.509 certificate (${libraryReason(error)})`, index);
    return;
  }
  out.records.push(record);
}

function toRecord(path: string, index: number, cert: x509.X509Certificate): CertificateRecord {
  const der = Buffer.from(cert.rawData);
  const key = keyOf(cert);
  const signature = signatureOf(cert);
  return {
    path,
    index,
    subject: cert.subject,
    issuer: cert.issuer,
    serialNumber: cert.serialNumber,
    sans: sansOf(cert),
    keyType: key.type,
    keySize: key.size,
    curve: key.curve,
    signatureAlgorithm: signature.name,
    signatureHash: signature.hash,
    notBefore: cert.notBefore.toISOString(),
    notAfter: cert.notAfter.toISOString(),
    sha256Fingerprint: fingerprint(der),
    selfSigned: cert.subject === cert.issuer,
  };
}

/** OpenSSL's prefixes for the kinds of subject alternative name. */
const SAN_PREFIX: Readonly<Record<string, string>> = {
  dns: "DNS",
  ip: "IP",
  email: "email",
  url: "URI",
  dn: "DirName",
  guid: "GUID",
  upn: "UPN",
  id: "RID",
};

function sansOf(cert: x509.X509Certificate): string[] {
  const extension = cert.getExtension(x509.SubjectAlternativeNameExtension);
  if (extension === null) return [];
  return extension.names.toJSON().map((name) => `${SAN_PREFIX[name.type] ?? name.type}:${name.value}`);
}

interface KeyInfo {
  type: string;
  size: number | null;
  curve: string | null;
}

/** NIST curves under the names people use for them; others keep OpenSSL's name. */
const CURVE_NAMES: Readonly<Record<string, string>> = {
  prime256v1: "P-256",
  secp384r1: "P-384",
  secp521r1: "P-521",
  prime192v1: "P-192",
  secp224r1: "P-224",
};
const NODE_KEY_TYPES: Readonly<Record<string, string>> = {
  rsa: "RSA",
  "rsa-pss": "RSA-PSS",
  dsa: "DSA",
  ec: "EC",
  ed25519: "Ed25519",
  ed448: "Ed448",
};
const EDDSA_BITS: Readonly<Record<string, number>> = { Ed25519: 256, Ed448: 448 };

/**
 * The public key's type and size. Node's own key parser (OpenSSL) knows the sizes of RSA, RSA-PSS and
 * DSA keys and the curve of EC keys; a key it cannot read keeps the type the certificate names, with
 * the size unknown.
 */
function keyOf(cert: x509.X509Certificate): KeyInfo {
  try {
    const key = createPublicKey({ key: Buffer.from(cert.publicKey.rawData), format: "der", type: "spki" });
    const nodeType = key.asymmetricKeyType ?? "";
    const type = NODE_KEY_TYPES[nodeType] ?? nodeType.toUpperCase();
    const details = key.asymmetricKeyDetails ?? {};
    if (details.modulusLength !== undefined) return { type, size: details.modulusLength, curve: null };
    if (details.namedCurve !== undefined) {
      const curve = CURVE_NAMES[details.namedCurve] ?? details.namedCurve;
      const bits = /(\d{3})/.exec(details.namedCurve)?.[1];
      return { type, size: bits === undefined ? null : Number(bits), curve };
    }
    if (type in EDDSA_BITS) return { type, size: EDDSA_BITS[type] ?? null, curve: type };
    if (type !== "") return { type, size: null, curve: null };
  } catch {
    // Falls back to the certificate's own naming below.
  }
  const algorithm = cert.publicKey.algorithm as { name: string; modulusLength?: number; namedCurve?: string };
  return { type: algorithm.name, size: algorithm.modulusLength ?? null, curve: algorithm.namedCurve ?? null };
}

/** Signature algorithms the library names only by OID: old ones, the ones a weak-hash check is for. */
const LEGACY_SIGNATURES: Readonly<Record<string, { name: string; hash: string }>> = {
  "1.2.840.113549.1.1.2": { name: "md2WithRSAEncryption", hash: "MD2" },
  "1.2.840.113549.1.1.3": { name: "md4WithRSAEncryption", hash: "MD4" },
  "1.2.840.113549.1.1.4": { name: "md5WithRSAEncryption", hash: "MD5" },
  "1.2.840.113549.1.1.5": { name: "sha1WithRSAEncryption", hash: "SHA-1" },
  "1.3.14.3.2.29": { name: "sha1WithRSASignature", hash: "SHA-1" },
  "1.3.14.3.2.27": { name: "dsaWithSHA1", hash: "SHA-1" },
  "1.2.840.10040.4.3": { name: "dsa-with-SHA1", hash: "SHA-1" },
  "2.16.840.1.101.3.4.3.1": { name: "dsa-with-SHA224", hash: "SHA-224" },
  "2.16.840.1.101.3.4.3.2": { name: "dsa-with-SHA256", hash: "SHA-256" },
  "1.2.840.10045.4.1": { name: "ecdsa-with-SHA1", hash: "SHA-1" },
};

function signatureOf(cert: x509.X509Certificate): { name: string; hash: string | null } {
  const algorithm = cert.signatureAlgorithm as { name: string; hash?: { name: string }; namedCurve?: string };
  const legacy = LEGACY_SIGNATURES[algorithm.name];
  if (legacy !== undefined) return legacy;
  const hash = algorithm.hash?.name ?? null;
  if (algorithm.name === "EdDSA" && algorithm.namedCurve !== undefined)
    return { name: algorithm.namedCurve, hash };
  return { name: hash === null ? algorithm.name : `${algorithm.name} with ${hash}`, hash };
}

function fingerprint(der: Buffer): string {
  const hex = createHash("sha256").update(der).digest("hex").toUpperCase();
  return hex.match(/../g)?.join(":") ?? hex;
}

function countNewlines(text: string, from: number, to: number): number {
  let count = 0;
  for (let i = text.indexOf("\n", from); i !== -1 && i < to; i = text.indexOf("\n", i + 1)) count++;
  return count;
}

function errorCode(error: unknown): string {
  const code = (error as { code?: unknown }).code;
  return typeof code === "string" ? code : "error";
}

/** The parser's reason, one short line: it describes the structure, never the bytes. */
function libraryReason(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return printable(message.split("\n")[0] ?? "").slice(0, 120) || "unreadable";
}
