import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { type Document, isMap, isPair, isScalar, isSeq, type Node, type Scalar } from "yaml";

/** A path into the YAML document: map keys as strings, list positions as numbers. */
export type NodePath = readonly (string | number)[];

/** A string value that held at least one reference and now holds what they resolved to. */
export interface ResolvedValue {
  readonly node: Scalar;
  readonly path: NodePath;
  /** The text as written in the file, references and all: safe to show, unlike the value. */
  readonly original: string;
}

/** A reference that could not be resolved; the node keeps its original text. */
export interface ReferenceProblem {
  readonly node: Scalar;
  readonly path: NodePath;
  readonly message: string;
}

export interface ReferenceResolution {
  readonly resolved: readonly ResolvedValue[];
  readonly problems: readonly ReferenceProblem[];
  /** Every value a reference produced, so callers can make sure none reaches a message. */
  readonly secrets: readonly string[];
}

export interface ReferenceContext {
  /** Folder `${file:…}` paths are relative to. */
  readonly baseDir: string;
  readonly env: NodeJS.ProcessEnv;
}

// `$${` is the escape for a literal `${`; otherwise `${kind:argument}`.
const TOKEN = /\$\$\{|\$\{([A-Za-z][A-Za-z0-9]*):([^}]*)\}/g;
const UNTERMINATED = /\$\{(env|file):[^}]*$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Replaces every `${env:NAME}` and `${file:PATH}` inside string values of `doc`, in place.
 * Keys are never resolved. A file's content loses one final newline. Problems (unset variable,
 * unreadable file, malformed reference) are collected, never thrown, and their messages name the
 * reference but never a value. Files are read concurrently; each node is visited once even when
 * aliased.
 */
export async function resolveReferences(doc: Document, ctx: ReferenceContext): Promise<ReferenceResolution> {
  const resolved: ResolvedValue[] = [];
  const problems: ReferenceProblem[] = [];
  const secrets: string[] = [];
  const pending: Promise<void>[] = [];
  const seen = new WeakSet<Node>();

  const visit = (node: unknown, path: NodePath): void => {
    if (!isMap(node) && !isSeq(node) && !isScalar(node)) return; // aliases resolve to their anchor
    if (seen.has(node)) return;
    seen.add(node);
    if (isMap(node)) {
      for (const pair of node.items) {
        if (!isPair(pair)) continue;
        const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
        visit(pair.value, [...path, key]);
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, index) => {
        visit(item, [...path, index]);
      });
    } else if (typeof node.value === "string" && node.value.includes("${")) {
      pending.push(resolveScalar(node, path));
    }
  };

  const resolveScalar = async (node: Scalar, path: NodePath): Promise<void> => {
    const original = node.value as string;
    const pieces: (string | Promise<string>)[] = [];
    const problemsHere: string[] = [];
    const secretsHere: string[] = [];
    const secret = (value: string): string => {
      if (value !== "") secretsHere.push(value);
      return value;
    };
    let last = 0;
    let referenced = false;
    for (const match of original.matchAll(TOKEN)) {
      pieces.push(original.slice(last, match.index));
      last = match.index + match[0].length;
      if (match[0] === "$${") {
        pieces.push("${");
        continue;
      }
      referenced = true;
      const [text, kind = "", argument = ""] = match;
      if (kind === "env") {
        const value = ctx.env[argument];
        if (!ENV_NAME.test(argument)) {
          problemsHere.push(`${text} is not a valid environment variable name`);
        } else if (value === undefined) {
          problemsHere.push(`environment variable ${argument} is not set (referenced as ${text})`);
        } else {
          pieces.push(secret(value));
        }
      } else if (kind === "file") {
        if (argument === "") {
          problemsHere.push(`${text} names no file`);
        } else {
          const file = resolve(ctx.baseDir, argument);
          pieces.push(
            readFile(file, "utf8").then(
              (content) => secret(content.replace(/\r?\n$/, "")),
              (error: NodeJS.ErrnoException) => {
                problemsHere.push(`cannot read ${text} (${file}): ${describeFsError(error)}`);
                return "";
              },
            ),
          );
        }
      } else {
        problemsHere.push(`unknown reference ${text}: expected \${env:NAME} or \${file:PATH}`);
      }
    }
    const tail = original.slice(last);
    if (UNTERMINATED.test(tail)) problemsHere.push("unterminated reference: a closing } is missing");
    pieces.push(tail);
    const value = (await Promise.all(pieces)).join("");
    if (problemsHere.length > 0) {
      for (const message of problemsHere) problems.push({ node, path, message });
      return;
    }
    node.value = value;
    // A string with only `$${` escapes in it holds nothing from outside the file.
    if (referenced) {
      secrets.push(...secretsHere, value);
      resolved.push({ node, path, original });
    }
  };

  visit(doc.contents, []);
  await Promise.all(pending);
  return { resolved, problems, secrets };
}

function describeFsError(error: NodeJS.ErrnoException): string {
  switch (error.code) {
    case "ENOENT":
      return "no such file";
    case "EACCES":
    case "EPERM":
      return "permission denied";
    case "EISDIR":
      return "it is a folder";
    default:
      return error.code ?? "read failed";
  }
}
