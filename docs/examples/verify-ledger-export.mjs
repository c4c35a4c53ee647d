#!/usr/bin/env node
// Verifies Tenure audit ledger exports and archives without Tenure: Node.js 18+ and node:crypto only.
//
//   node verify-ledger-export.mjs --public-key ledger-public.pem export.jsonl [next.jsonl …]
//
// Every event's hash is recomputed, every link checked, every signature verified with the public key
// (give --public-key again for each older key that signed heads). Several files are checked as one
// chain, in the order given: each must start where the one before ended. Exit code 0 when all holds;
// otherwise 1, after a line naming the file, the line and the event (seq) that does not.
// docs/audit-verify.md describes the format.

import { createHash, createPublicKey, verify } from "node:crypto";
import { createReadStream, readFileSync } from "node:fs";
import { createInterface } from "node:readline";

const GENESIS = "0".repeat(64);

// RFC 8785 (JCS) for parsed JSON: keys sorted by UTF-16 code units, no whitespace, and strings and
// numbers as JSON.stringify writes them.
function canonical(value) {
  if (value === null || typeof value !== "object") return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  const keys = Object.keys(value).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical(value[k])}`).join(",")}}`;
}

// The hashed text: the previous hash, a newline, then the canonical JSON of the event's six fields.
function eventHash(e) {
  const { action, actor, details, seq, subject, time } = e;
  const text = `${e.prevHash}\n${canonical({ action, actor, details, seq, subject, time })}`;
  return createHash("sha256").update(text, "utf8").digest("hex");
}

// keyId: the first 16 hex digits of the SHA-256 of the raw 32-byte Ed25519 public key.
function loadKey(file) {
  const key = createPublicKey(readFileSync(file, "utf8"));
  if (key.asymmetricKeyType !== "ed25519") throw new Error(`${file}: not an Ed25519 public key`);
  const raw = Buffer.from(key.export({ format: "jwk" }).x, "base64url");
  return { key, keyId: createHash("sha256").update(raw).digest("hex").slice(0, 16) };
}

function signatureHolds(keys, keyId, text, signature) {
  const k = keys.find((candidate) => candidate.keyId === keyId);
  if (k === undefined) return `signed with key ${keyId}, which is not a key given with --public-key`;
  let ok = false;
  try {
    ok = verify(null, Buffer.from(text, "utf8"), k.key, Buffer.from(String(signature), "base64"));
  } catch {
    ok = false;
  }
  return ok ? undefined : "the signature does not match (altered, or signed by another key)";
}

class Failure extends Error {}

async function verifyFile(file, keys, previous) {
  const fail = (line, seq, problem) => {
    throw new Failure(`${file}:${line}: event ${seq}: ${problem}`);
  };
  const hashes = new Map();
  let first;
  let last;
  let heads = 0;
  let end;
  let lineNo = 0;
  const lines = createInterface({
    input: createReadStream(file, "utf8"),
    crlfDelay: Number.POSITIVE_INFINITY,
  });
  for await (const text of lines) {
    lineNo += 1;
    if (text.trim() === "") continue;
    let r;
    try {
      r = JSON.parse(text);
    } catch {
      fail(lineNo, "?", "not a JSON line");
    }
    if (end !== undefined) fail(lineNo, r.seq ?? "?", "a line after the final signed line (appended?)");
    if (r.type === "event") {
      if (heads > 0) fail(lineNo, r.seq, "an event after the heads (inserted?)");
      if (last === undefined) {
        first = r;
        if (previous !== undefined && (r.seq !== previous.seq + 1 || r.prevHash !== previous.hash)) {
          fail(lineNo, r.seq, `does not continue the previous file, which ended at event ${previous.seq}`);
        }
        if (r.seq === 1 && r.prevHash !== GENESIS)
          fail(lineNo, r.seq, "event 1 does not link to the genesis hash");
      } else {
        if (r.seq !== last.seq + 1)
          fail(lineNo, r.seq, `expected event ${last.seq + 1} (deleted, inserted or reordered?)`);
        if (r.prevHash !== last.hash)
          fail(lineNo, r.seq, `its prevHash is not the hash of event ${last.seq}`);
      }
      if (eventHash(r) !== r.hash) fail(lineNo, r.seq, "its hash does not match its contents (edited?)");
      hashes.set(r.seq, r.hash);
      last = r;
    } else if (r.type === "head") {
      heads += 1;
      const bad = signatureHolds(
        keys,
        r.keyId,
        canonical({ hash: r.hash, seq: r.seq, time: r.time }),
        r.signature,
      );
      if (bad !== undefined) fail(lineNo, r.seq, `published head: ${bad}`);
      if (hashes.get(r.seq) !== r.hash)
        fail(lineNo, r.seq, "published head: its hash is not the event's hash");
    } else if (r.type === "end") {
      end = r;
      if (last === undefined) fail(lineNo, r.seq, "no events before the final line");
      const facts = {
        count: r.count,
        firstPrevHash: r.firstPrevHash,
        firstSeq: r.firstSeq,
        hash: r.hash,
        seq: r.seq,
        time: r.time,
      };
      const bad =
        signatureHolds(keys, r.keyId, canonical({ hash: r.hash, seq: r.seq, time: r.time }), r.signature) ??
        signatureHolds(keys, r.keyId, canonical(facts), r.rangeSignature);
      if (bad !== undefined) fail(lineNo, r.seq, `final line: ${bad}`);
      if (r.seq !== last.seq || r.hash !== last.hash)
        fail(lineNo, last.seq, "the events do not end where the signed final line says (cut short?)");
      if (
        r.firstSeq !== first.seq ||
        r.firstPrevHash !== first.prevHash ||
        r.count !== last.seq - first.seq + 1
      ) {
        fail(lineNo, first.seq, "the events do not start where the signed final line says (cut short?)");
      }
    } else {
      fail(lineNo, r.seq ?? "?", `unknown line type ${JSON.stringify(r.type)}`);
    }
  }
  if (end === undefined) fail(lineNo, last?.seq ?? "?", "no final signed line (cut short?)");
  console.log(
    `ok: ${file}: events ${first.seq}–${last.seq} (${last.seq - first.seq + 1}), ${heads} published heads; last hash ${last.hash}, signed by key ${end.keyId} at ${end.time}`,
  );
  return { seq: last.seq, hash: last.hash };
}

async function main(argv) {
  const keys = [];
  const files = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--public-key") keys.push(loadKey(argv[++i]));
    else files.push(argv[i]);
  }
  if (keys.length === 0 || files.length === 0) {
    console.error("usage: node verify-ledger-export.mjs --public-key PUBLIC.pem FILE.jsonl [FILE.jsonl …]");
    return 2;
  }
  let previous;
  try {
    for (const file of files) previous = await verifyFile(file, keys, previous);
  } catch (err) {
    console.error(`FAILED: ${err instanceof Failure ? err.message : String(err)}`);
    return 1;
  }
  return 0;
}

process.exitCode = await main(process.argv.slice(2));
