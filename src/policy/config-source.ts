import { createHash } from "node:crypto";
import { isMap, isPair, isScalar, isSeq, type Node, parseDocument } from "yaml";
import { isSecretAt } from "../config/schema-helpers.js";
import { redactUrl } from "../shared/redact.js";
import { formatPath } from "./config-issues.js";
import type { NodePath } from "./config-references.js";
import { configFileSchema } from "./config-schema.js";
import type { TenureConfig } from "./config-types.js";

/**
 * The configuration as it was written, kept so an auditor can read the rule that granted something as
 * it was then, at the line it was at: the file's text with every value that must never be stored —
 * a secret field written out, a password inside a URL — replaced on the same line, so every other
 * line keeps its number. References (`${env:…}`, `${file:…}`) are kept as written: they are names, not
 * values. The hash is of this text, so it identifies the policy without deriving from any secret.
 */
export interface ConfigSource {
  /** The config file's absolute path. */
  path: string;
  text: string;
  /** Lowercase hex SHA-256 of `text`. */
  hash: string;
  /**
   * Secret fields whose value is written out rather than referenced (`${env:…}`, `${file:…}`): a
   * password, token or key, or a URL carrying a password or a token. A URL or path with no credential
   * in it (`sqlite:./tenure.db`, `ldaps://ldap.example.org`) is not one. `tenure check` reports them.
   */
  inlineSecrets: Array<{ path: string; line: number; column: number }>;
}

const URL_LIKE = /^[A-Za-z][A-Za-z0-9+.-]*:/;
const CREDENTIAL_PARAM = /[?&](pass(word)?|pwd|token|secret|key|sig|signature)=/i;

/** Whether a secret field's written-out value holds a credential (see {@link ConfigSource.inlineSecrets}). */
function holdsCredential(value: string): boolean {
  if (value.trim() === "") return false;
  if (!URL_LIKE.test(value)) return true;
  return redactUrl(value) !== value || CREDENTIAL_PARAM.test(value);
}

const REDACTED = "<redacted>";
const sources = new WeakMap<object, ConfigSource>();

/** The stored form of `text` (see {@link ConfigSource}); `written` is the document as data, references unresolved. */
export function redactedSource(path: string, text: string, written: unknown): ConfigSource {
  const doc = parseDocument(text, { keepSourceTokens: false });
  const edits: Array<{ start: number; end: number; value: string }> = [];
  const inlineSecrets: ConfigSource["inlineSecrets"] = [];
  const visit = (node: unknown, at: NodePath): void => {
    if (isMap(node)) {
      for (const pair of node.items) {
        if (!isPair(pair)) continue;
        const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
        visit(pair.value, [...at, key]);
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, index) => {
        visit(item, [...at, index]);
      });
    } else if (
      isScalar(node) &&
      typeof node.value === "string" &&
      node.range !== undefined &&
      node.range !== null
    ) {
      const value = node.value;
      let replacement: string | undefined;
      if (isSecretAt(configFileSchema, written, at) && !value.includes("${")) {
        replacement = REDACTED;
        if (holdsCredential(value)) {
          const [start] = node.range as [number, number, number];
          const before = text.slice(0, start).split("\n");
          inlineSecrets.push({
            path: formatPath(at),
            line: before.length,
            column: (before.at(-1) ?? "").length + 1,
          });
        }
      } else if (value.includes("://")) {
        const masked = redactUrl(value);
        if (masked !== value) replacement = masked;
      }
      if (replacement === undefined) return;
      const [start, end] = node.range as [number, number, number];
      const newlines = text.slice(start, end).split("\n").length - 1;
      edits.push({ start, end, value: JSON.stringify(replacement) + "\n".repeat(newlines) });
    }
  };
  visit((doc.contents as Node | null) ?? null, []);
  let out = text;
  for (const e of edits.sort((a, b) => b.start - a.start))
    out = out.slice(0, e.start) + e.value + out.slice(e.end);
  return { path, text: out, hash: createHash("sha256").update(out).digest("hex"), inlineSecrets };
}

/** Called by the loader only: the source `config` was loaded from. */
export function rememberSource(config: TenureConfig, source: ConfigSource): void {
  sources.set(config, source);
  sources.set(config.policy, source);
}

/** The source a loaded config came from; undefined for a config built in code (tests, benchmarks). */
export function configSource(config: TenureConfig): ConfigSource | undefined {
  return sources.get(config) ?? sources.get(config.policy);
}
