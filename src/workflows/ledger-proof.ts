// biome-ignore-all lint/suspicious/noTemplateCurlyInString: messages show the literal ${file:…} syntax of tenure.yaml.
import { readFile } from "node:fs/promises";
import {
  type HeadsVerification,
  parseHeadsFile,
  type SourcedHead,
  verifyHeads,
} from "../audit/ledger-heads-verify.js";
import { allPublishedHeads } from "../audit/ledger-publish.js";
import {
  loadSigningKey,
  loadVerifyingKey,
  type SigningKey,
  type VerifyingKey,
} from "../audit/ledger-signing.js";
import type { TenureConfig } from "../policy/config-types.js";
import { InvalidInputError } from "../shared/errors.js";
import type { Db } from "../store/schema-types.js";

/**
 * The ledger's proof beyond the database, as the CLI, the API and the evidence pack check it: the
 * configured signing key, and every published head held against the chain.
 */

/** The configured signing key. @throws InvalidInputError saying how to configure one. */
export function signingKeyOf(config: TenureConfig): SigningKey {
  const pem = config.audit?.signing?.key;
  if (pem === undefined) {
    throw new InvalidInputError(
      "audit.signing.key is not configured: heads and exports are signed. Create a key with " +
        "`tenure audit keygen --out FILE` and set audit.signing.key: ${file:FILE} in tenure.yaml",
    );
  }
  return loadSigningKey(pem);
}

/**
 * Checks every published head — those in `ledger_heads` and those in each `--heads` file — against the
 * ledger, with the configured key's public half and any `--public-key`.
 */
export async function verifyPublishedHeads(
  db: Db,
  config: TenureConfig,
  options: { heads?: string[]; publicKey?: string[] },
): Promise<HeadsVerification> {
  const keys: VerifyingKey[] = [];
  for (const file of options.publicKey ?? [])
    keys.push(loadVerifyingKey(await readText(file, "--public-key")));
  if (config.audit?.signing !== undefined) {
    const own = signingKeyOf(config);
    if (!keys.some((k) => k.keyId === own.keyId)) keys.push(own);
  }
  const heads: SourcedHead[] = (await allPublishedHeads(db)).map((h) => ({ ...h, source: "database" }));
  const unreadable = [];
  for (const file of options.heads ?? []) {
    const parsed = parseHeadsFile(await readText(file, "--heads"), file);
    heads.push(...parsed.heads);
    unreadable.push(...parsed.problems);
  }
  const result = await verifyHeads(db, heads, keys);
  const mismatches = [...unreadable, ...result.mismatches];
  return { ...result, ok: mismatches.length === 0, mismatches };
}

async function readText(file: string, flag: string): Promise<string> {
  try {
    return await readFile(file, "utf8");
  } catch (err) {
    throw new InvalidInputError(
      `${flag} ${file}: cannot read it (${(err as NodeJS.ErrnoException).code ?? "error"})`,
    );
  }
}
