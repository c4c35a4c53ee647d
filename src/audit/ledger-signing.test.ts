import { generateKeyPairSync } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  describeNonSigningKey,
  generateSigningKey,
  headSignatureProblem,
  headSigningText,
  loadSigningKey,
  loadVerifyingKey,
  signHead,
} from "./ledger-signing.js";

const AT = new Date("2026-12-04T13:00:00.000Z");
const HEAD = { seq: 42, hash: "ab".repeat(32) };

describe("ledger head signing", () => {
  const pair = generateSigningKey();
  const key = loadSigningKey(pair.privateKeyPem);
  const verifying = loadVerifyingKey(pair.publicKeyPem);

  it("names the key by the first 16 hex of the SHA-256 of its raw public key, the same from either half", () => {
    expect(key.keyId).toMatch(/^[0-9a-f]{16}$/);
    expect(verifying.keyId).toBe(key.keyId);
    expect(pair.keyId).toBe(key.keyId);
    expect(loadVerifyingKey(pair.privateKeyPem).keyId).toBe(key.keyId);
  });

  it("signs the canonical JSON of hash, seq and time, and the signature holds", () => {
    const signed = signHead(HEAD, AT, key);
    expect(signed).toMatchObject({
      seq: 42,
      hash: HEAD.hash,
      time: "2026-12-04T13:00:00.000Z",
      keyId: key.keyId,
    });
    expect(headSigningText(signed)).toBe(
      `{"hash":"${HEAD.hash}","seq":42,"time":"2026-12-04T13:00:00.000Z"}`,
    );
    expect(headSignatureProblem(signed, [verifying])).toBeUndefined();
  });

  it("fails under another key, with a changed hash, seq or time, or a mangled signature", () => {
    const signed = signHead(HEAD, AT, key);
    const other = loadVerifyingKey(generateSigningKey().publicKeyPem);
    expect(headSignatureProblem(signed, [other])).toMatch(
      /signed with key [0-9a-f]{16}, which is not the key given/,
    );
    // A forger who relabels the head with the other key's id still fails the signature.
    expect(headSignatureProblem({ ...signed, keyId: other.keyId }, [other])).toMatch(/does not match/);
    expect(headSignatureProblem({ ...signed, hash: "cd".repeat(32) }, [verifying])).toMatch(/does not match/);
    expect(headSignatureProblem({ ...signed, seq: 43 }, [verifying])).toMatch(/does not match/);
    expect(headSignatureProblem({ ...signed, time: "2026-12-04T13:00:01.000Z" }, [verifying])).toMatch(
      /does not match/,
    );
    expect(headSignatureProblem({ ...signed, signature: "not base64!" }, [verifying])).toMatch(
      /does not match/,
    );
  });

  it("says what a wrong key is, never quoting it", () => {
    const rsa = generateKeyPairSync("rsa", { modulusLength: 1024 })
      .privateKey.export({ type: "pkcs8", format: "pem" })
      .toString();
    const ec = generateKeyPairSync("ec", { namedCurve: "P-256" })
      .privateKey.export({ type: "sec1", format: "pem" })
      .toString();
    const cases: Array<[string, RegExp]> = [
      [rsa, /^an RSA private key, not Ed25519$/],
      [ec, /^an EC private key, not Ed25519$/],
      [pair.publicKeyPem, /^a public key/],
      ["hunter2-not-a-key", /^text that is not a PEM key/],
      ["-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", /not a readable private key/],
    ];
    for (const [pem, expected] of cases) {
      const found = describeNonSigningKey(pem);
      expect(found).toMatch(expected);
      expect(() => loadSigningKey(pem)).toThrow(/must be a PKCS#8 PEM Ed25519 private key; found/);
      try {
        loadSigningKey(pem);
      } catch (err) {
        const body = pem.split("\n").find((l) => l.length > 20 && !l.startsWith("-----"));
        if (body !== undefined) expect((err as Error).message).not.toContain(body);
        expect((err as Error).message).not.toContain("hunter2");
      }
    }
    expect(describeNonSigningKey(pair.privateKeyPem)).toBeUndefined();
  });
});
