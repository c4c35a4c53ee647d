import { describe, expect, it } from "vitest";
import { nhiCertificatesSchema, resolveNhiCertificates } from "./nhi-certificates-schema.js";

const DAY = 86_400_000;

const problems = (input: unknown) =>
  nhiCertificatesSchema.safeParse(input).error?.issues.map((i) => `${i.path.join(".")}: ${i.message}`) ?? [];

describe("nhi.certificates", () => {
  it("fills in 30, 7 and 1 day warnings, RSA 2048, EC 256 and the broken hashes", () => {
    expect(nhiCertificatesSchema.parse({ paths: ["./certs"] })).toEqual({
      paths: ["./certs"],
      warnings: [30 * DAY, 7 * DAY, DAY],
      minRsaBits: 2048,
      minEcBits: 256,
      forbiddenSignatureHashes: ["MD2", "MD4", "MD5", "SHA-1"],
    });
  });

  it("reads warnings as durations and keeps what is given", () => {
    const parsed = nhiCertificatesSchema.parse({
      paths: ["/etc/ssl/app.pem"],
      warnings: ["14d", "2w", "12h"],
      minRsaBits: 3072,
      minEcBits: 384,
      forbiddenSignatureHashes: ["SHA-1"],
    });
    expect(parsed).toMatchObject({
      warnings: [14 * DAY, 14 * DAY, DAY / 2],
      minRsaBits: 3072,
      minEcBits: 384,
    });
  });

  it("makes paths absolute against the config's folder, and orders and dedupes the warnings", () => {
    const parsed = nhiCertificatesSchema.parse({
      paths: ["./certs", "bundle.pem", "/etc/ssl/app.pem"],
      warnings: ["1d", "30d", "4w2d", "7d"],
    });
    expect(resolveNhiCertificates(parsed, "/srv/tenure")).toEqual({
      paths: ["/srv/tenure/certs", "/srv/tenure/bundle.pem", "/etc/ssl/app.pem"],
      warnings: [30 * DAY, 7 * DAY, DAY],
      minRsaBits: 2048,
      minEcBits: 256,
      forbiddenSignatureHashes: ["MD2", "MD4", "MD5", "SHA-1"],
    });
  });

  it("says what was expected, where, and suggests a key for a misspelt one", () => {
    expect(problems({})).toEqual(["paths: expected a list of PEM files and folders"]);
    expect(problems({ paths: [] })).toEqual(["paths: expected at least one PEM file or folder"]);
    expect(
      problems({
        paths: [""],
        warnings: ["30 days"],
        minRsaBits: 2048.5,
        minEcBits: 0,
        forbiddenSignatureHashes: ["SHA1"],
        minRSABits: 2048,
      }),
    ).toEqual([
      "paths.0: expected the path of a PEM file or a folder of them",
      "warnings.0: expected a duration: a whole number with a unit: 30m, 8h, 7d, 2w (or 1h30m)",
      "minRsaBits: expected the smallest RSA key size in bits, a whole number from 1 to 16384",
      "minEcBits: expected the smallest EC key size in bits, a whole number from 1 to 16384",
      "forbiddenSignatureHashes.0: expected a hash: MD2, MD4, MD5, SHA-1, SHA-224, SHA-256, SHA-384, SHA-512",
      "minRSABits: unknown key 'minRSABits' — did you mean 'minRsaBits'?",
    ]);
  });
});
