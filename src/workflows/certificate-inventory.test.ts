import "reflect-metadata";
import { execFileSync } from "node:child_process";
import { webcrypto } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import * as x509 from "@peculiar/x509";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CertificatePolicy } from "../domain/certificate-types.js";
import { inventoryCertificates, readCertificates } from "./certificate-inventory.js";

const DAY = 86_400_000;
const POLICY: CertificatePolicy = {
  warnings: [30 * DAY, 7 * DAY, DAY],
  minRsaBits: 2048,
  minEcBits: 256,
  forbiddenSignatureHashes: ["MD5", "SHA-1"],
};

let dir: string;

/** Runs openssl in the test folder; its chatter (key generation dots) is not wanted. */
function openssl(...args: string[]): string {
  return execFileSync("openssl", args, { cwd: dir, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
}

interface Made {
  cert: string;
  key: string;
  certPem: string;
  keyPem: string;
}

/** A self-signed certificate and its key, as `openssl req -x509` makes them. */
async function selfSigned(name: string, newkey: string[], extra: string[] = []): Promise<Made> {
  const cert = path.join(dir, `${name}.cert.pem`);
  const key = path.join(dir, `${name}.key.pem`);
  openssl(
    "req",
    "-x509",
    ...newkey,
    "-nodes",
    "-keyout",
    key,
    "-out",
    cert,
    "-subj",
    `/CN=${name}/O=Acme`,
    ...extra,
  );
  return { cert, key, certPem: await readFile(cert, "utf8"), keyPem: await readFile(key, "utf8") };
}

const RSA2048 = ["-newkey", "rsa:2048"];
let strong: Made;
let weak: Made;
let md5: Made;
let ec: Made;
let ed: Made;
let pss: Made;
let p384: Made;
let leaf: Made;
let ca: Made;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "tenure-certificates-"));
  strong = await selfSigned("strong", RSA2048, [
    "-sha256",
    "-days",
    "365",
    "-addext",
    "subjectAltName=DNS:api.example.com,DNS:*.api.example.com,IP:10.0.0.1,email:ops@example.com,URI:https://api.example.com/",
  ]);
  weak = await selfSigned("weak", ["-newkey", "rsa:1024"], ["-sha1", "-days", "5"]);
  md5 = await selfSigned("md5", RSA2048, ["-md5", "-days", "365"]);
  ec = await selfSigned("ec", ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"], ["-days", "20"]);
  ed = await selfSigned("ed", ["-newkey", "ed25519"], ["-days", "365"]);
  pss = await selfSigned("pss", ["-newkey", "rsa-pss", "-pkeyopt", "rsa_keygen_bits:2048"], ["-days", "365"]);
  p384 = await selfSigned("p384", ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:secp384r1"], ["-sha384"]);
  // A leaf signed by a CA: issuer differs from subject.
  ca = await selfSigned("ca", RSA2048, ["-days", "365"]);
  const csr = path.join(dir, "leaf.csr");
  const leafKey = path.join(dir, "leaf.key.pem");
  openssl(
    "req",
    "-new",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    leafKey,
    "-out",
    csr,
    "-subj",
    "/CN=leaf.example.com",
  );
  const leafCert = path.join(dir, "leaf.cert.pem");
  openssl(
    "x509",
    "-req",
    "-in",
    csr,
    "-CA",
    ca.cert,
    "-CAkey",
    ca.key,
    "-set_serial",
    "4660",
    "-days",
    "90",
    "-out",
    leafCert,
  );
  leaf = {
    cert: leafCert,
    key: leafKey,
    certPem: await readFile(leafCert, "utf8"),
    keyPem: await readFile(leafKey, "utf8"),
  };
});

afterAll(() => rm(dir, { recursive: true, force: true }));

/** A fresh folder under the test folder, with the given files. */
async function folder(name: string, files: Record<string, string | Buffer>): Promise<string> {
  const root = path.join(dir, name);
  for (const [file, content] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(root, file)), { recursive: true });
    await writeFile(path.join(root, file), content);
  }
  return root;
}

/** The base64 body of a PEM block, without its BEGIN/END lines. */
const pemBody = (pem: string) => pem.replace(/-----[A-Z ]+-----/g, "").replace(/\s+/g, "");

describe("reading certificates", () => {
  it("reads subject, issuer, SANs, key, signature, validity and fingerprint as openssl sees them", async () => {
    const { records, errors, findings } = await readCertificates([strong.cert]);
    expect(errors).toEqual([]);
    expect(findings).toEqual([]);
    expect(records).toHaveLength(1);
    const record = records[0]!;
    const fingerprint = openssl("x509", "-in", strong.cert, "-noout", "-fingerprint", "-sha256").trim();
    const serial = openssl("x509", "-in", strong.cert, "-noout", "-serial").trim();
    const endDate = openssl("x509", "-in", strong.cert, "-noout", "-enddate").trim();
    expect(record).toEqual({
      path: strong.cert,
      index: 0,
      subject: "CN=strong, O=Acme",
      issuer: "CN=strong, O=Acme",
      serialNumber: serial.replace(/^serial=/, "").toLowerCase(),
      sans: [
        "DNS:api.example.com",
        "DNS:*.api.example.com",
        "IP:10.0.0.1",
        "email:ops@example.com",
        "URI:https://api.example.com/",
      ],
      keyType: "RSA",
      keySize: 2048,
      curve: null,
      signatureAlgorithm: "RSASSA-PKCS1-v1_5 with SHA-256",
      signatureHash: "SHA-256",
      notBefore: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z$/),
      notAfter: new Date(endDate.replace(/^notAfter=/, "")).toISOString(),
      sha256Fingerprint: fingerprint.split("=")[1],
      selfSigned: true,
    });
  });

  it("reads EC, Ed25519, RSA-PSS and weak RSA keys with their sizes and signature hashes", async () => {
    const { records } = await readCertificates([ec.cert, p384.cert, ed.cert, pss.cert, weak.cert, md5.cert]);
    expect(
      records.map((r) => [r.keyType, r.keySize, r.curve, r.signatureAlgorithm, r.signatureHash]),
    ).toEqual([
      ["EC", 256, "P-256", "ECDSA with SHA-256", "SHA-256"],
      ["EC", 384, "P-384", "ECDSA with SHA-384", "SHA-384"],
      ["Ed25519", 256, "Ed25519", "Ed25519", null],
      ["RSA-PSS", 2048, null, "RSA-PSS with SHA-256", "SHA-256"],
      ["RSA", 1024, null, "RSASSA-PKCS1-v1_5 with SHA-1", "SHA-1"],
      ["RSA", 2048, null, "md5WithRSAEncryption", "MD5"],
    ]);
  });

  it("tells a CA-issued certificate from a self-signed one", async () => {
    const { records } = await readCertificates([leaf.cert]);
    expect(records[0]).toMatchObject({
      subject: "CN=leaf.example.com",
      issuer: "CN=ca, O=Acme",
      serialNumber: "1234",
      sans: [],
      selfSigned: false,
    });
  });

  it("reads a certificate in OpenSSL's trusted form", async () => {
    const trusted = path.join(dir, "trusted.pem");
    openssl("x509", "-in", ec.cert, "-addtrust", "serverAuth", "-out", trusted);
    expect((await readFile(trusted, "utf8")).startsWith("-----BEGIN TRUSTED CERTIFICATE-----")).toBe(true);
    const { records, errors } = await readCertificates([trusted]);
    expect(errors).toEqual([]);
    expect(records[0]).toMatchObject({ subject: "CN=ec, O=Acme", keyType: "EC" });
  });

  it("reads a DER certificate, as .cer files often are", async () => {
    const der = path.join(dir, "strong.cer");
    openssl("x509", "-in", strong.cert, "-outform", "DER", "-out", der);
    const { records, errors } = await readCertificates([der]);
    expect(errors).toEqual([]);
    expect(records[0]).toMatchObject({ path: der, index: 0, subject: "CN=strong, O=Acme" });
  });

  it("reads each certificate of a bundle with its position, and names the one that is broken", async () => {
    const broken = "-----BEGIN CERTIFICATE-----\nMIIBroken/notADer==\n-----END CERTIFICATE-----\n";
    const bundle = await folder("bundle", {
      "chain.pem": `# a comment\n${leaf.certPem}${broken}${ca.certPem}`,
    });
    const file = path.join(bundle, "chain.pem");
    const { records, errors } = await readCertificates([file]);
    expect(records.map((r) => [r.index, r.subject])).toEqual([
      [0, "CN=leaf.example.com"],
      [2, "CN=ca, O=Acme"],
    ]);
    expect(errors).toEqual([
      {
        code: "invalid_certificate",
        path: file,
        index: 1,
        message: expect.stringMatching(
          new RegExp(`^${escapeRegExp(file)}#1: not a valid X\\.509 certificate \\(`),
        ),
      },
    ]);
  });

  it("walks a folder recursively, reads .pem, .crt and .cer, and reports the bad file by name", async () => {
    const root = await folder("walk", {
      "a.pem": strong.certPem,
      "bad.pem": "this is not a certificate\n",
      "notes.txt": "ignored: not a certificate name\n",
      "sub/deeper/ec.crt": ec.certPem,
      "sub/UPPER.CER": ed.certPem,
      "sub/empty.pem": "",
      "sub/csr.pem": "-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n-----END CERTIFICATE REQUEST-----\n",
    });
    const { records, errors, filesRead } = await readCertificates([root]);
    expect(records.map((r) => path.relative(root, r.path))).toEqual([
      "a.pem",
      "sub/UPPER.CER",
      "sub/deeper/ec.crt",
    ]);
    expect(errors).toEqual([
      {
        code: "not_certificate",
        path: path.join(root, "bad.pem"),
        message: `${path.join(root, "bad.pem")}: not a PEM certificate (no CERTIFICATE block, and not a DER certificate)`,
      },
      expect.objectContaining({ code: "not_certificate", path: path.join(root, "sub/csr.pem") }),
      expect.objectContaining({ code: "not_certificate", path: path.join(root, "sub/empty.pem") }),
    ]);
    expect(filesRead).toBe(6);
  });

  it("reports a path that is missing, a link to nothing and a circle of links, and goes on", async () => {
    const root = await folder("links", { "good.pem": strong.certPem });
    await symlink(path.join(root, "nowhere.pem"), path.join(root, "dangling.pem"));
    await symlink(path.join(root, "loop-b.pem"), path.join(root, "loop-a.pem"));
    await symlink(path.join(root, "loop-a.pem"), path.join(root, "loop-b.pem"));
    const missing = path.join(dir, "does-not-exist");
    const { records, errors } = await readCertificates([missing, root]);
    expect(records.map((r) => path.basename(r.path))).toEqual(["good.pem"]);
    expect(errors.map((e) => [e.code, path.basename(e.path), e.message.split(": ")[1]])).toEqual([
      ["not_found", "does-not-exist", "not found"],
      ["unreadable", "dangling.pem", "symbolic link to nothing"],
      ["unreadable", "loop-a.pem", "symbolic link loop"],
      ["unreadable", "loop-b.pem", "symbolic link loop"],
    ]);
  });

  it("never follows a folder link back up the tree, and reads a file reached twice once", async () => {
    const root = await folder("cycle", { "inner/a.pem": strong.certPem });
    await symlink(root, path.join(root, "inner", "up"));
    await symlink(path.join(root, "inner", "a.pem"), path.join(root, "also-a.pem"));
    const { records, errors } = await readCertificates([root, path.join(root, "inner", "a.pem")]);
    expect(errors).toEqual([]);
    expect(records.map((r) => path.relative(root, r.path))).toEqual(["also-a.pem"]);
  });

  it("passes over a FIFO in a folder, and refuses one given by path, without hanging", async () => {
    const root = await folder("fifo", { "a.pem": strong.certPem });
    const fifo = path.join(root, "pipe.pem");
    execFileSync("mkfifo", [fifo]);
    const walked = await readCertificates([root]);
    expect(walked.records).toHaveLength(1);
    expect(walked.errors).toEqual([]);
    const given = await readCertificates([fifo]);
    expect(given.errors).toEqual([
      { code: "unreadable", path: fifo, message: `${fifo}: not a regular file or a folder` },
    ]);
  });

  it("reports a private key in a bundle without any of the key in its answer", async () => {
    const root = await folder("keys", {
      "bundle.pem": `${strong.certPem}${strong.keyPem}`,
      "only-key.pem": `${weak.keyPem}${ec.keyPem}`,
      "legacy.pem": `${openssl("pkey", "-in", weak.key, "-traditional")}${weak.certPem}`,
    });
    const result = await inventoryCertificates({ paths: [root], ...POLICY }, new Date());
    const keyFindings = result.findings.filter((f) => f.code === "private_key_in_bundle");
    const bundleLines = strong.certPem.split("\n").length;
    expect(keyFindings).toEqual([
      {
        code: "private_key_in_bundle",
        severity: "high",
        path: path.join(root, "bundle.pem"),
        message: `${path.join(root, "bundle.pem")}: holds a private key (line ${bundleLines}); keep private keys out of certificate files and folders`,
      },
      expect.objectContaining({
        path: path.join(root, "legacy.pem"),
        message: expect.stringContaining("(line 1)"),
      }),
      expect.objectContaining({
        path: path.join(root, "only-key.pem"),
        message: expect.stringContaining("holds 2 private keys (first at line 1)"),
      }),
    ]);
    // A key file is a finding, not also an error, and the certificates beside keys are still read.
    expect(result.errors).toEqual([]);
    expect(result.records.map((r) => path.basename(r.path))).toEqual(["bundle.pem", "legacy.pem"]);
    const answer = JSON.stringify(result);
    for (const key of [strong.keyPem, weak.keyPem, ec.keyPem]) {
      const body = pemBody(key);
      expect(answer).not.toContain(body);
      for (const line of key.split("\n").filter((l) => l.length > 20 && !l.startsWith("-----"))) {
        expect(answer).not.toContain(line);
      }
    }
  });

  it("refuses a file above the size limit, stops at the file limit, and keeps a bundle's first certificates", async () => {
    const root = await folder("bounds", {
      "a.pem": strong.certPem,
      "b.pem": `${strong.certPem}${ec.certPem}${ed.certPem}`,
      "c.pem": ec.certPem,
    });
    const small = await readCertificates([path.join(root, "b.pem")], { maxFileBytes: 1000 });
    expect(small.records).toEqual([]);
    expect(small.errors).toEqual([
      {
        code: "too_large",
        path: path.join(root, "b.pem"),
        message: `${path.join(root, "b.pem")}: larger than 1000 bytes, not read`,
      },
    ]);

    const few = await readCertificates([root], { maxFiles: 2 });
    expect(few.filesRead).toBe(2);
    expect(few.records.map((r) => path.basename(r.path))).toEqual(["a.pem", "b.pem", "b.pem", "b.pem"]);
    expect(few.errors).toEqual([
      {
        code: "too_many_files",
        path: path.join(root, "c.pem"),
        message: `${path.join(root, "c.pem")}: not read: the limit of 2 files was reached`,
      },
    ]);

    const capped = await readCertificates([path.join(root, "b.pem")], { maxCertificatesPerFile: 2 });
    expect(capped.records.map((r) => r.index)).toEqual([0, 1]);
    expect(capped.errors).toEqual([
      expect.objectContaining({
        code: "too_many_certificates",
        message: `${path.join(root, "b.pem")}: holds more than 2 certificates; the rest were not read`,
      }),
    ]);
  });
});

describe("checking the inventory", () => {
  it("reports weak keys and signatures and near expiry, at the configured thresholds", async () => {
    const now = new Date();
    const { findings } = await inventoryCertificates(
      { paths: [strong.cert, weak.cert, md5.cert, ec.cert, ed.cert], ...POLICY },
      now,
    );
    expect(findings.map((f) => [path.basename(f.path), f.code, f.severity, f.threshold])).toEqual([
      ["weak.cert.pem", "expires_soon", "medium", 7 * DAY],
      ["weak.cert.pem", "weak_key", "high", undefined],
      ["weak.cert.pem", "weak_signature", "high", undefined],
      ["md5.cert.pem", "weak_signature", "high", undefined],
      ["ec.cert.pem", "expires_soon", "low", 30 * DAY],
    ]);
    expect(findings[1]?.message).toBe(
      `${weak.cert}#0 (CN=weak, O=Acme): RSA key of 1024 bits, below the minimum of 2048`,
    );
  });

  it("reports an expired certificate", async () => {
    const later = new Date(Date.now() + 6 * DAY);
    const { findings } = await inventoryCertificates({ paths: [weak.cert], ...POLICY, warnings: [] }, later);
    expect(findings[0]).toMatchObject({ code: "expired", severity: "high", path: weak.cert, index: 0 });
    expect(findings[0]?.message).toMatch(
      /^.*weak\.cert\.pem#0 \(CN=weak, O=Acme\): expired on .* \(1 day ago\)$/,
    );
  });

  it("reports a certificate that is not valid yet", async () => {
    // openssl 3.0's `req` cannot set a start date; the library (its crypto provider set by the module
    // under test) generates one that starts in 10 days.
    const alg = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" };
    const keys = await webcrypto.subtle.generateKey(alg, false, ["sign", "verify"]);
    const start = new Date(Date.now() + 10 * DAY);
    const cert = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: "01",
      name: "CN=future.example.com",
      notBefore: start,
      notAfter: new Date(start.getTime() + 365 * DAY),
      signingAlgorithm: alg,
      keys: keys as unknown as Parameters<typeof x509.X509CertificateGenerator.createSelfSigned>[0]["keys"],
    });
    const file = path.join(dir, "future.pem");
    await writeFile(file, cert.toString("pem"));
    const { findings } = await inventoryCertificates({ paths: [file], ...POLICY }, new Date());
    expect(findings).toEqual([
      expect.objectContaining({
        code: "not_yet_valid",
        severity: "medium",
        message: expect.stringMatching(
          /future\.pem#0 \(CN=future\.example\.com\): not valid before .* \(in 9 days\)$/,
        ),
      }),
    ]);
  });
});

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
