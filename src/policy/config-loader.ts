import { readFile, stat } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { type Document, isMap, isScalar, isSeq, LineCounter, type Node, parseDocument } from "yaml";
import type { z } from "zod";
import {
  isSecretAt,
  knownKeysAt,
  UNKNOWN_KEY,
  unknownKeyMessage,
  VALUE_OFFSET,
} from "../config/schema-helpers.js";
import type { LocationTarget } from "../config/section-types.js";
import type { SourceLocation } from "../domain/access-types.js";
import { deepFreeze } from "../shared/deep-freeze.js";
import { closestMatch } from "../shared/did-you-mean.js";
import { InvalidInputError } from "../shared/errors.js";
import { maskKnownSecrets, redactUrl as redactDatabaseUrl } from "../shared/redact.js";
import { type ConfigIssue, configErrorMap, formatConfigIssue, formatPath } from "./config-issues.js";
import { rememberReferencedValues } from "./config-redaction.js";
import { type NodePath, type ResolvedValue, resolveReferences } from "./config-references.js";
import { buildConfig, configFileSchema } from "./config-schema.js";
import { redactedSource, rememberSource } from "./config-source.js";
import type { TenureConfig } from "./config-types.js";
import { listedSecretFolders } from "./sections/secrets-section.js";
import { checkDocument, decodeUtf8, findNul, positionOfProblem } from "./yaml-hygiene.js";
import { derefNode, locate, positionOf, sourceOffsetOf } from "./yaml-locations.js";

export type { ConfigIssue } from "./config-issues.js";
export { formatConfigIssue } from "./config-issues.js";

export interface LoadOptions {
  /** Where `${env:NAME}` is looked up. Default `process.env`. */
  readonly env?: NodeJS.ProcessEnv;
}

/** The outcome of validation: a config exactly when there are no errors. */
export interface ConfigValidation {
  readonly config?: TenureConfig;
  readonly errors: readonly ConfigIssue[];
}

/**
 * Reads, validates and resolves a tenure.yaml into a deeply frozen `TenureConfig`.
 *
 * Throws `InvalidInputError` when the file is missing (the message suggests `tenure init`),
 * unreadable, or invalid in any way; then the message lists every problem as
 * `file:line:col: path: message` and `details` holds the same lines. Messages never contain a value
 * resolved from `${env:…}` or `${file:…}`.
 */
export async function loadConfig(path: string, options: LoadOptions = {}): Promise<TenureConfig> {
  const { config, errors } = await validateConfigFile(path, options);
  if (config === undefined || errors.length > 0) {
    const lines = errors.map(formatConfigIssue);
    const count = `${lines.length} problem${lines.length === 1 ? "" : "s"}`;
    throw new InvalidInputError(`invalid configuration in ${path} (${count}):\n${lines.join("\n")}`, lines);
  }
  return config;
}

/**
 * Validates a tenure.yaml and reports every problem at once instead of throwing: YAML syntax errors
 * (when there are any, nothing else is checked, since the structure is unreliable), unresolvable
 * references, schema violations (CEL rules and templates included, placed at the offending token)
 * and, once those are clean, references between the policy sections (a grant naming an undeclared
 * entitlement, an include cycle), each with the file, 1-based line and column of the offending node
 * and its key path, sorted by position.
 *
 * Throws `InvalidInputError` only when the file cannot be read at all (missing: suggests
 * `tenure init`).
 */
export async function validateConfigFile(path: string, options: LoadOptions = {}): Promise<ConfigValidation> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") {
      throw new InvalidInputError(
        `config file not found: ${path} — run \`tenure init\` to create one, or pass --config PATH`,
      );
    }
    throw new InvalidInputError(`cannot read config file ${path}: ${code ?? String(error)}`);
  }
  const decoded = decodeUtf8(bytes);
  if (!("text" in decoded)) {
    const byte = decoded.byte.toString(16).toUpperCase().padStart(2, "0");
    const message = `byte 0x${byte} is not UTF-8: tenure.yaml must be UTF-8 text (re-save it as UTF-8)`;
    return { errors: [{ file: path, line: decoded.line, column: decoded.column, path: "", message }] };
  }
  return validateConfigText(decoded.text, { path, ...options });
}

/**
 * {@link validateConfigFile} for text already in memory. `path` names the file in issues and is
 * where relative paths and `${file:…}` resolve from; it need not exist.
 */
export async function validateConfigText(
  text: string,
  options: LoadOptions & { readonly path: string },
): Promise<ConfigValidation> {
  const file = options.path;
  const absolutePath = resolve(file);
  const baseDir = dirname(absolutePath);
  const lines = new LineCounter();
  const nul = findNul(text);
  if (nul !== undefined) {
    const before = text.slice(0, nul.offset).split("\n");
    const position = { line: before.length, column: (before.at(-1) ?? "").length + 1 };
    return { errors: [{ file, ...position, path: "", message: nul.message }] };
  }
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  const at = (node: Node | null, path: NodePath, message: string): ConfigIssue => ({
    file,
    ...positionOf(node, lines),
    path: formatPath(path),
    message,
  });

  if (doc.errors.length > 0) {
    const sourceLines = text.split(/\r?\n/);
    const errors = doc.errors.map((error) => {
      const { line, col } = lines.linePos(error.pos[0]);
      const hint = syntaxHint(sourceLines[line - 1] ?? "");
      return { file, line, column: col, path: "", message: `YAML syntax error: ${error.message}${hint}` };
    });
    return { errors: sortIssues(errors) };
  }

  // What YAML would accept but silently change is refused alone, like a syntax error: the structure
  // built from it cannot be trusted.
  const unsafe = checkDocument(doc);
  if (unsafe.length > 0) {
    return {
      errors: sortIssues(
        unsafe.map((p) => ({
          file,
          ...positionOfProblem(p, lines, positionOf),
          path: formatPath(p.path),
          message: p.message,
        })),
      ),
    };
  }

  // The document as written, references unresolved: which fields are secret depends on it (the
  // connector of a system), and so do the folders secret files may be read from.
  let written: unknown;
  try {
    written = doc.contents === null ? {} : doc.toJS({ maxAliasCount: 1000 });
  } catch (error) {
    // yaml throws here only for alias bombs and similar abuse of anchors.
    return { errors: [at(null, [], `cannot read the document as data: ${(error as Error).message}`)] };
  }
  const folders = await secretFolders(written, baseDir);
  const references = await resolveReferences(doc, {
    baseDir,
    secretFolders: folders.folders,
    env: options.env ?? process.env,
    isSecret: (path) => isSecretAt(configFileSchema, written, path),
  });
  const issues: ConfigIssue[] = [
    ...folders.problems.map((p) => at(locate(doc, p.path).node, p.path, p.message)),
    ...references.problems.map((p) => at(p.node, p.path, p.message)),
  ];
  const brokenPaths = references.problems.map((p) => p.path);
  const resolvedByNode = new Map<Node, ResolvedValue>(references.resolved.map((r) => [r.node, r]));

  let data: unknown;
  try {
    // An empty file is a config with every default, not an error.
    data = doc.contents === null ? {} : doc.toJS({ maxAliasCount: 1000 });
  } catch (error) {
    // yaml throws here only for alias bombs and similar abuse of anchors.
    return { errors: [at(null, [], `cannot read the document as data: ${(error as Error).message}`)] };
  }
  const parsed = configFileSchema.safeParse(data, { error: configErrorMap });
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const path = issue.path.map((s) => (typeof s === "symbol" ? String(s) : s));
      // A reference that failed to resolve already has its issue; its unresolved text would only
      // add a second, misleading one.
      if (brokenPaths.some((broken) => startsWith(path, broken))) continue;
      issues.push(...describeZodIssue(issue, path, { doc, data, text, lines, at, resolvedByNode }));
    }
  }

  if (issues.length > 0 || !parsed.success) {
    return { errors: sortIssues(scrub(issues, references.secrets)) };
  }

  const nodeAt = (path: NodePath, target: LocationTarget): Node | null => {
    const located = locate(doc, path);
    return target === "key" ? (located.keyNode ?? located.node) : located.node;
  };
  const crossSection: ConfigIssue[] = [];
  const config = buildConfig(parsed.data, {
    path: absolutePath,
    baseDir,
    locate: (path, target = "key"): SourceLocation => ({ file, ...positionOf(nodeAt(path, target), lines) }),
    report: (path, message, target = "value") => {
      crossSection.push(at(nodeAt(path, target), path, message));
    },
    reportAt: (location, path, message) => {
      crossSection.push({ ...location, path: formatPath(path), message });
    },
  });
  if (crossSection.length > 0) return { errors: sortIssues(scrub(crossSection, references.secrets)) };
  deepFreeze(config);
  rememberReferencedValues(
    config,
    references.resolved.map((r) => ({ path: r.path, original: r.original })),
    references.secrets,
  );
  rememberSource(config, redactedSource(absolutePath, text, written));
  return { config, errors: [] };
}

/**
 * The folders listed under `secrets.folders`, absolute, with a problem for each that is not an existing
 * folder. The section's shape is checked by its schema; this only needs the file system.
 */
async function secretFolders(
  written: unknown,
  baseDir: string,
): Promise<{ folders: string[]; problems: { path: NodePath; message: string }[] }> {
  const folders: string[] = [];
  const problems: { path: NodePath; message: string }[] = [];
  for (const { index, path } of listedSecretFolders(written)) {
    const folder = resolve(baseDir, path);
    const where: NodePath = ["secrets", "folders", index];
    const info = await stat(folder).catch(() => undefined);
    if (info === undefined) problems.push({ path: where, message: `no such folder: ${folder}` });
    else if (!info.isDirectory()) problems.push({ path: where, message: `not a folder: ${folder}` });
    else folders.push(folder);
  }
  return { folders, problems };
}

interface DescribeContext {
  readonly doc: Document;
  /** The document as data, as zod saw it. */
  readonly data: unknown;
  /** The file's text, to place a problem inside a value. */
  readonly text: string;
  readonly lines: LineCounter;
  readonly at: (node: Node | null, path: NodePath, message: string) => ConfigIssue;
  readonly resolvedByNode: ReadonlyMap<Node, ResolvedValue>;
}

function describeZodIssue(issue: z.core.$ZodIssue, path: NodePath, ctx: DescribeContext): ConfigIssue[] {
  const located = locate(ctx.doc, path);

  // Unknown keys and invalid map keys are about the key, so that is where they point.
  if (issue.code === "custom" && issue.params?.tenure === UNKNOWN_KEY) {
    return [ctx.at(located.keyNode ?? located.node, path, issue.message)];
  }
  if (issue.code === "invalid_key") {
    const reasons = issue.issues.map((inner) => inner.message).join("; ");
    return [
      ctx.at(located.keyNode ?? located.node, path, `invalid name '${String(path.at(-1))}': ${reasons}`),
    ];
  }
  // Schemas written with zod's own strictObject (a connector's config) report all unknown keys of an
  // object at once; give each its own issue at its key, with a suggestion, as strictObject does.
  if (issue.code === "unrecognized_keys") {
    const known = knownKeysAt(configFileSchema, ctx.data, path);
    return issue.keys.map((key) => {
      const keyPath = [...path, key];
      const message = known === undefined ? `unknown key '${key}'` : unknownKeyMessage(key, known);
      const place = locate(ctx.doc, keyPath);
      return ctx.at(place.keyNode ?? place.node, keyPath, message);
    });
  }

  if (!located.found) return [ctx.at(located.node, path, issue.message)];

  const node = derefNode(ctx.doc, located.node);
  const resolved = node === null ? undefined : ctx.resolvedByNode.get(node);
  if (issue.code === "custom" && issue.params?.tenure === VALUE_OFFSET) {
    // A problem at a token inside the value (a CEL rule): point at that token. The value itself is
    // not repeated; the position says where.
    const offset = Number(issue.params.offset);
    const inFile =
      isScalar(node) && resolved === undefined ? sourceOffsetOf(node, ctx.text, offset) : undefined;
    if (inFile === undefined) return [ctx.at(located.node, path, issue.message)];
    const { line, col } = ctx.lines.linePos(inFile);
    return [{ ...ctx.at(located.node, path, issue.message), line, column: col }];
  }

  const empty = isScalar(node) && node.value === null;
  const place = empty && located.keyNode !== null ? located.keyNode : located.node;
  const secretField = isSecretAt(configFileSchema, ctx.data, path);
  let message = `${issue.message}, found ${describeNode(node, resolved, secretField)}`;
  const options = (issue as { options?: unknown }).options;
  const candidates =
    issue.code === "invalid_value"
      ? issue.values
      : issue.code === "invalid_union" && "discriminator" in issue && Array.isArray(options)
        ? (options as unknown[])
        : [];
  if (candidates.length > 0 && resolved === undefined && !secretField && isScalar(node)) {
    const strings = candidates.filter((v): v is string => typeof v === "string");
    const suggestion = closestMatch(String(node.value), strings);
    if (suggestion !== undefined) message += ` — did you mean ${JSON.stringify(suggestion)}?`;
  }
  return [ctx.at(place, path, message)];
}

/**
 * What was found, in words; a resolved reference is named, never shown. Any URL has its password
 * masked, since database and connector URLs may carry one inline. A secret field written out shows
 * nothing of its value but, for a URL, its scheme and server.
 */
function describeNode(node: Node | null, resolved: ResolvedValue | undefined, secretField: boolean): string {
  if (resolved !== undefined) {
    // The text as written holds references, not their values, but may still hold an inline password.
    return `the value of ${JSON.stringify(shorten(redactDatabaseUrl(resolved.original)))}`;
  }
  if (isMap(node)) return "a mapping";
  if (isSeq(node)) return "a list";
  if (!isScalar(node) || node.value === null || node.value === undefined) return "an empty value";
  const value = node.value;
  if (typeof value !== "string") return String(value);
  if (secretField) {
    const url = /^([A-Za-z][A-Za-z0-9+.-]*:\/\/)([^/?#]*)(.*)$/s.exec(value);
    if (url === null) return "a value that is not shown (the field is a secret)";
    const [, scheme = "", authority = "", rest = ""] = url;
    const server = authority.includes("@")
      ? `***@${authority.slice(authority.lastIndexOf("@") + 1)}`
      : authority;
    return JSON.stringify(shorten(`${scheme}${server}${rest === "" || rest === "/" ? rest : "/…"}`));
  }
  return JSON.stringify(shorten(redactDatabaseUrl(value)));
}

/**
 * YAML's own wording for the commonest slip in this file, a plain value ending in a colon
 * (`database: sqlite::memory:`), is "nested mappings are not allowed"; say what to do instead.
 */
function syntaxHint(line: string): string {
  return /^\s*(-\s+)?[^\s#'"][^#]*?:\s+[^\s#'"][^#]*:\s*$/.test(line)
    ? ` (a value that ends with ':' must be quoted, e.g. database: "sqlite::memory:")`
    : "";
}

function shorten(text: string): string {
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function startsWith(path: NodePath, prefix: NodePath): boolean {
  return prefix.length <= path.length && prefix.every((segment, i) => String(path[i]) === String(segment));
}

/**
 * Masks any resolved value that still found its way into a message. Messages are built not to
 * contain them; this is the second line of defence.
 */
function scrub(issues: readonly ConfigIssue[], secrets: readonly string[]): ConfigIssue[] {
  return issues.map((issue) => {
    const message = maskKnownSecrets(issue.message, secrets);
    return message === issue.message ? issue : { ...issue, message };
  });
}

function sortIssues(issues: readonly ConfigIssue[]): ConfigIssue[] {
  return [...issues].sort((a, b) => a.line - b.line || a.column - b.column);
}
