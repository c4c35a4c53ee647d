import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  sign,
  verify,
} from "node:crypto";
import { InvalidInputError } from "../shared/errors.js";
import { canonicalJson } from "./canonical-json.js";

/** A place in the chain: the last event's seq and hash (seq 0 and the genesis hash while empty). */
export interface LedgerHead {
  seq: number;
  hash: string;
}

/**
 * A head signed at `time`: Ed25519 over the canonical JSON (JCS) of `{ hash, seq, time }`, base64.
 * `keyId` names the key: the first 16 hex digits of the SHA-256 of its raw 32-byte public key.
 */
export interface SignedHead extends LedgerHead {
  /** When it was signed (ISO-8601, UTC). */
  time: string;
  keyId: string;
  signature: string;
}

/** The key heads are signed with. Holds the private key: never log, print or store it. */
export interface SigningKey {
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  readonly keyId: string;
}

/** A key heads are checked with. */
export interface VerifyingKey {
  readonly publicKey: KeyObject;
  readonly keyId: string;
}

const KEY_ID_HEX = 16;

/**
 * What `pem` is, in words, when it is not an unencrypted PKCS#8 Ed25519 private key; undefined when it
 * is one. Never quotes the text: the words name only its kind ("an RSA private key", "a public key").
 */
export function describeNonSigningKey(pem: string): string | undefined {
  const label = /-----BEGIN ([A-Z0-9 ]+)-----/.exec(pem)?.[1];
  if (label === undefined) return "text that is not a PEM key (no -----BEGIN … -----)";
  if (label === "ENCRYPTED PRIVATE KEY") {
    return "an encrypted private key (give it unencrypted, in a file only Tenure can read)";
  }
  if (label.endsWith("PUBLIC KEY")) return "a public key (signing needs the private key)";
  if (label === "CERTIFICATE") return "a certificate (signing needs the private key)";
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch {
    return `a PEM block labelled ${label} that is not a readable private key`;
  }
  const type = key.asymmetricKeyType;
  if (type !== "ed25519") return `${article(type ?? "unknown")} private key, not Ed25519`;
  return label === "PRIVATE KEY" ? undefined : `an Ed25519 key in a ${label} block, not PKCS#8 (PRIVATE KEY)`;
}

const KEY_TYPE_NAMES: Readonly<Record<string, string>> = {
  rsa: "an RSA",
  "rsa-pss": "an RSA-PSS",
  ec: "an EC",
  dsa: "a DSA",
  dh: "a DH",
  ed448: "an Ed448",
  x25519: "an X25519",
  x448: "an X448",
};

function article(type: string): string {
  return KEY_TYPE_NAMES[type] ?? `a ${type}`;
}

/**
 * The signing key of a PKCS#8 PEM Ed25519 private key; its public key is derived from it.
 * @throws InvalidInputError saying what the text is instead (never the text itself).
 */
export function loadSigningKey(pem: string): SigningKey {
  const wrong = describeNonSigningKey(pem);
  if (wrong !== undefined) {
    throw new InvalidInputError(
      `the ledger signing key must be a PKCS#8 PEM Ed25519 private key; found ${wrong}`,
    );
  }
  const privateKey = createPrivateKey(pem);
  const publicKey = createPublicKey(privateKey);
  return { privateKey, publicKey, keyId: keyIdOf(publicKey) };
}

/**
 * A key to check heads with, from a PEM public key (SPKI) or a PEM private key (its public half is used).
 * @throws InvalidInputError when it is not an Ed25519 key, naming what it is.
 */
export function loadVerifyingKey(pem: string): VerifyingKey {
  let publicKey: KeyObject;
  try {
    publicKey = /-----BEGIN PUBLIC KEY-----/.test(pem)
      ? createPublicKey(pem)
      : createPublicKey(loadSigningKey(pem).privateKey);
  } catch (err) {
    if (err instanceof InvalidInputError) throw err;
    throw new InvalidInputError("the public key is not a readable PEM public key");
  }
  if (publicKey.asymmetricKeyType !== "ed25519") {
    throw new InvalidInputError(
      `the public key is ${article(publicKey.asymmetricKeyType ?? "unknown")} key, not Ed25519`,
    );
  }
  return { publicKey, keyId: keyIdOf(publicKey) };
}

/** The first 16 hex digits of the SHA-256 of the raw 32-byte Ed25519 public key. */
export function keyIdOf(publicKey: KeyObject): string {
  const x = publicKey.export({ format: "jwk" }).x;
  if (typeof x !== "string") throw new InvalidInputError("not an Ed25519 public key");
  return createHash("sha256").update(Buffer.from(x, "base64url")).digest("hex").slice(0, KEY_ID_HEX);
}

/** The public key as an SPKI PEM, to hand to whoever verifies. */
export function publicKeyPem(key: { publicKey: KeyObject }): string {
  return key.publicKey.export({ type: "spki", format: "pem" }).toString();
}

/** The exact text a head's signature covers: canonical JSON of `{ hash, seq, time }`. */
export function headSigningText(head: LedgerHead & { time: string }): string {
  return canonicalJson({ hash: head.hash, seq: head.seq, time: head.time });
}

/** Signs `head` as of `time`. */
export function signHead(head: LedgerHead, time: Date, key: SigningKey): SignedHead {
  const unsigned = { seq: head.seq, hash: head.hash, time: time.toISOString() };
  return { ...unsigned, keyId: key.keyId, signature: signText(headSigningText(unsigned), key) };
}

/** Ed25519 signature of `text` (UTF-8), base64. */
export function signText(text: string, key: SigningKey): string {
  return sign(null, Buffer.from(text, "utf8"), key.privateKey).toString("base64");
}

/** Whether `signature` (base64) is `key`'s Ed25519 signature of `text`. Never throws on malformed input. */
export function verifyText(text: string, signature: string, key: VerifyingKey): boolean {
  if (typeof signature !== "string" || !/^[A-Za-z0-9+/]+={0,2}$/.test(signature)) return false;
  try {
    return verify(null, Buffer.from(text, "utf8"), key.publicKey, Buffer.from(signature, "base64"));
  } catch {
    return false;
  }
}

/**
 * What is wrong with a signed head under the given keys, in words, or undefined when its signature is
 * good: signed with a key none of `keys` is (named by keyId), or a signature that does not match
 * its seq, hash and time.
 */
export function headSignatureProblem(head: SignedHead, keys: readonly VerifyingKey[]): string | undefined {
  const key = keys.find((k) => k.keyId === head.keyId);
  if (key === undefined) {
    return `signed with key ${head.keyId}, which is not ${keys.length === 1 ? `the key given (${keys[0]?.keyId})` : `one of the keys given (${keys.map((k) => k.keyId).join(", ")})`}`;
  }
  return verifyText(headSigningText(head), head.signature, key)
    ? undefined
    : "its signature does not match its seq, hash and time (altered, or not signed by this key)";
}

/** A new Ed25519 key pair: the private key as PKCS#8 PEM, the public key as SPKI PEM, and its keyId. */
export function generateSigningKey(): { privateKeyPem: string; publicKeyPem: string; keyId: string } {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  return {
    privateKeyPem: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
    publicKeyPem: publicKey.export({ type: "spki", format: "pem" }).toString(),
    keyId: keyIdOf(publicKey),
  };
}
