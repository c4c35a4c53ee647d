import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  certificateFindings,
  describeCertificate,
  expiryWarning,
  printable,
  privateKeyFinding,
} from "./certificate-findings.js";
import type { CertificatePolicy, CertificateRecord } from "./certificate-types.js";

const DAY = 86_400_000;
const NOW = new Date("2026-06-01T12:00:00Z");

const POLICY: CertificatePolicy = {
  warnings: [30 * DAY, 7 * DAY, DAY],
  minRsaBits: 2048,
  minEcBits: 256,
  forbiddenSignatureHashes: ["SHA-1", "MD5"],
};

function record(overrides: Partial<CertificateRecord> = {}): CertificateRecord {
  return {
    path: "/etc/ssl/app.pem",
    index: 0,
    subject: "CN=api.example.com",
    issuer: "CN=Example CA",
    serialNumber: "01",
    sans: ["DNS:api.example.com"],
    keyType: "RSA",
    keySize: 2048,
    curve: null,
    signatureAlgorithm: "RSASSA-PKCS1-v1_5 with SHA-256",
    signatureHash: "SHA-256",
    notBefore: "2026-01-01T00:00:00.000Z",
    notAfter: "2027-01-01T00:00:00.000Z",
    sha256Fingerprint: "AA:BB",
    selfSigned: false,
    ...overrides,
  };
}

const at = (ms: number) => new Date(NOW.getTime() + ms).toISOString();
const codes = (r: CertificateRecord, now = NOW) => certificateFindings(r, POLICY, now).map((f) => f.code);

describe("certificate findings", () => {
  it("finds nothing wrong with a strong certificate far from expiry", () => {
    expect(certificateFindings(record(), POLICY, NOW)).toEqual([]);
  });

  it("reports an expired certificate, naming the file, its position and its subject", () => {
    const findings = certificateFindings(record({ index: 2, notAfter: at(-3 * DAY) }), POLICY, NOW);
    expect(findings).toEqual([
      {
        code: "expired",
        severity: "high",
        path: "/etc/ssl/app.pem",
        index: 2,
        subject: "CN=api.example.com",
        message: `/etc/ssl/app.pem#2 (CN=api.example.com): expired on ${at(-3 * DAY)} (3 days ago)`,
      },
    ]);
  });

  it("is not expired at its notAfter instant, and is one millisecond later", () => {
    expect(codes(record({ notAfter: NOW.toISOString() }))).toEqual(["expires_soon"]);
    expect(codes(record({ notAfter: at(-1) }))).toEqual(["expired"]);
  });

  it("warns at the smallest configured threshold the time left is within", () => {
    const soon = (left: number) => certificateFindings(record({ notAfter: at(left) }), POLICY, NOW)[0];
    expect(soon(20 * DAY)).toMatchObject({ code: "expires_soon", threshold: 30 * DAY, severity: "low" });
    expect(soon(7 * DAY)).toMatchObject({ threshold: 7 * DAY, severity: "medium" });
    expect(soon(5 * DAY)?.message).toBe(
      `/etc/ssl/app.pem#0 (CN=api.example.com): expires on ${at(5 * DAY)} (in 5 days), within the 7d warning`,
    );
    expect(soon(DAY / 2)).toMatchObject({ threshold: DAY, severity: "high" });
    expect(soon(DAY / 2)?.message).toContain("(in less than a day), within the 1d warning");
    expect(soon(31 * DAY)).toBeUndefined();
  });

  it("reports a certificate not valid yet", () => {
    const findings = certificateFindings(record({ notBefore: at(2 * DAY) }), POLICY, NOW);
    expect(findings).toEqual([
      expect.objectContaining({
        code: "not_yet_valid",
        severity: "medium",
        message: `/etc/ssl/app.pem#0 (CN=api.example.com): not valid before ${at(2 * DAY)} (in 2 days)`,
      }),
    ]);
  });

  it("reports RSA, RSA-PSS and DSA keys below minRsaBits and EC keys below minEcBits", () => {
    expect(codes(record({ keySize: 1024 }))).toEqual(["weak_key"]);
    expect(codes(record({ keyType: "RSA-PSS", keySize: 1536 }))).toEqual(["weak_key"]);
    expect(codes(record({ keyType: "DSA", keySize: 1024 }))).toEqual(["weak_key"]);
    expect(codes(record({ keyType: "RSA", keySize: 4096 }))).toEqual([]);
    const ec = certificateFindings(record({ keyType: "EC", keySize: 224, curve: "P-224" }), POLICY, NOW);
    expect(ec).toEqual([
      expect.objectContaining({
        code: "weak_key",
        severity: "high",
        message:
          "/etc/ssl/app.pem#0 (CN=api.example.com): EC key of 224 bits (P-224), below the minimum of 256",
      }),
    ]);
    expect(codes(record({ keyType: "EC", keySize: 256, curve: "P-256" }))).toEqual([]);
    expect(codes(record({ keyType: "Ed25519", keySize: 256, curve: "Ed25519" }))).toEqual([]);
  });

  it("guesses nothing about a key of unknown size or type", () => {
    expect(codes(record({ keySize: null }))).toEqual([]);
    expect(codes(record({ keyType: "ML-DSA-65", keySize: null }))).toEqual([]);
  });

  it("reports a forbidden signature hash, however it is spelled in the policy", () => {
    const sha1 = record({ signatureAlgorithm: "RSASSA-PKCS1-v1_5 with SHA-1", signatureHash: "SHA-1" });
    expect(certificateFindings(sha1, POLICY, NOW)).toEqual([
      expect.objectContaining({
        code: "weak_signature",
        severity: "high",
        message:
          "/etc/ssl/app.pem#0 (CN=api.example.com): signed with SHA-1 (RSASSA-PKCS1-v1_5 with SHA-1), a forbidden hash",
      }),
    ]);
    const md5 = record({ signatureAlgorithm: "md5WithRSAEncryption", signatureHash: "MD5" });
    expect(certificateFindings(md5, { ...POLICY, forbiddenSignatureHashes: ["md5"] }, NOW)).toHaveLength(1);
    expect(codes(record({ signatureAlgorithm: "Ed25519", signatureHash: null }))).toEqual([]);
  });

  it("lists every finding of one certificate in a fixed order", () => {
    const bad = record({
      notAfter: at(-DAY),
      keySize: 1024,
      signatureHash: "SHA-1",
      signatureAlgorithm: "RSASSA-PKCS1-v1_5 with SHA-1",
    });
    expect(codes(bad)).toEqual(["expired", "weak_key", "weak_signature"]);
  });

  it("keeps control characters and huge subjects and paths out of messages", () => {
    const nasty = record({ path: "/x/evil\nname.pem", subject: `CN=a\r\nInjected: ${"x".repeat(1000)}` });
    const name = describeCertificate(nasty);
    expect(name).not.toMatch(/[\r\n]/);
    expect(name.length).toBeLessThan(700);
    expect(printable("a\u0000b\u009fc")).toBe("a\uFFFDb\uFFFDc");
  });

  it("reports a private key by file and line only", () => {
    expect(privateKeyFinding("/certs/app.pem", 28)).toEqual({
      code: "private_key_in_bundle",
      severity: "high",
      path: "/certs/app.pem",
      message:
        "/certs/app.pem: holds a private key (line 28); keep private keys out of certificate files and folders",
    });
    expect(privateKeyFinding("/certs/app.pem", 3, 2).message).toContain(
      "holds 2 private keys (first at line 3)",
    );
  });
});

describe("expiry warnings", () => {
  const warningsArb = fc.uniqueArray(fc.integer({ min: 1, max: 400 * DAY }), { minLength: 1, maxLength: 6 });

  it("picks the smallest warning the time left is within, and none when it is within none", () => {
    fc.assert(
      fc.property(warningsArb, fc.integer({ min: 0, max: 500 * DAY }), (warnings, left) => {
        const warning = expiryWarning(left, warnings);
        const within = warnings.filter((w) => left <= w);
        if (within.length === 0) expect(warning).toBeUndefined();
        else expect(warning?.threshold).toBe(Math.min(...within));
      }),
    );
  });

  it("never gets quieter as expiry comes nearer", () => {
    const rank = { low: 0, medium: 1, high: 2 } as const;
    fc.assert(
      fc.property(
        warningsArb,
        fc.integer({ min: 0, max: 500 * DAY }),
        fc.integer({ min: 0, max: 500 * DAY }),
        (warnings, a, b) => {
          const [near, far] = a <= b ? [a, b] : [b, a];
          const nearWarning = expiryWarning(near, warnings);
          const farWarning = expiryWarning(far, warnings);
          if (farWarning === undefined) return;
          expect(nearWarning).toBeDefined();
          expect(nearWarning!.threshold).toBeLessThanOrEqual(farWarning.threshold);
          expect(rank[nearWarning!.severity]).toBeGreaterThanOrEqual(rank[farWarning.severity]);
        },
      ),
    );
  });

  it("does not depend on the order the warnings are written in", () => {
    fc.assert(
      fc.property(warningsArb, fc.integer({ min: 0, max: 500 * DAY }), (warnings, left) => {
        expect(expiryWarning(left, [...warnings].reverse())).toEqual(expiryWarning(left, warnings));
      }),
    );
  });

  it("gives no warning once expired", () => {
    expect(expiryWarning(-1, [DAY])).toBeUndefined();
  });

  it("grades one, two and three warnings", () => {
    expect(expiryWarning(DAY, [DAY])?.severity).toBe("high");
    expect(expiryWarning(5 * DAY, [7 * DAY, DAY])?.severity).toBe("medium");
    expect(expiryWarning(20 * DAY, [30 * DAY, 7 * DAY, DAY])?.severity).toBe("low");
  });
});
