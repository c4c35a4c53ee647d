import { constants, type Stats } from "node:fs";
import { open, realpath, stat } from "node:fs/promises";
import { resolve, sep } from "node:path";
import { type Document, isMap, isPair, isScalar, isSeq, type Node, type Scalar } from "yaml";
import type { NodePath } from "../config/section-types.js";

/** A string value that held at least one reference and now holds what they resolved to. */
export type { NodePath };

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
  /** The configuration's folder: `${file:…}` paths are relative to it, and may read anything under it. */
  readonly baseDir: string;
  /** More folders `${file:…}` may read from (`secrets.folders`), absolute. */
  readonly secretFolders: readonly string[];
  readonly env: NodeJS.ProcessEnv;
  /** Whether the value at `path` is a secret field; a reference anywhere else is refused. */
  readonly isSecret: (path: NodePath) => boolean;
}

/** The largest file `${file:…}` reads: a password, a token, a key or a certificate, not a data file. */
export const MAX_SECRET_FILE_BYTES = 64 * 1024;

// `$${` is the escape for a literal `${`; otherwise `${kind:argument}`.
const TOKEN = /\$\$\{|\$\{([A-Za-z][A-Za-z0-9]*):([^}]*)\}/g;
const UNTERMINATED = /\$\{(env|file):[^}]*$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Replaces every `${env:NAME}` and `${file:PATH}` inside the secret fields of `doc` (`ctx.isSecret`),
 * in place; a reference in any other value is a problem, and is not resolved. Keys are never resolved;
 * `$${` becomes `${` in every value. `${file:…}` reads only a regular file of at most
 * {@link MAX_SECRET_FILE_BYTES}, holding UTF-8 text without NUL, that lies (symbolic links followed)
 * in the configuration's folder or one of `ctx.secretFolders`; anything else (a FIFO, a device, a
 * folder) is refused without being opened for reading, so nothing blocks. A file's content loses one
 * final newline. Problems (unset variable, unreadable or refused file, malformed reference, reference
 * outside a secret field) are collected, never thrown, and their messages name the reference but never
 * a value. Files are read concurrently; each node is visited once even when aliased.
 */
export async function resolveReferences(doc: Document, ctx: ReferenceContext): Promise<ReferenceResolution> {
  const resolved: ResolvedValue[] = [];
  const problems: ReferenceProblem[] = [];
  const secrets: string[] = [];
  const pending: Promise<void>[] = [];
  const seen = new WeakSet<Node>();
  const roots = allowedRoots([ctx.baseDir, ...ctx.secretFolders]);

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
    const secretField = ctx.isSecret(path);
    for (const match of original.matchAll(TOKEN)) {
      pieces.push(original.slice(last, match.index));
      last = match.index + match[0].length;
      if (match[0] === "$${") {
        pieces.push("${");
        continue;
      }
      referenced = true;
      const [text, kind = "", argument = ""] = match;
      if (!secretField) {
        problemsHere.push(
          `${text} is not allowed here: references are resolved only in secret fields ` +
            "(passwords, tokens, keys, connection URLs); write this value out",
        );
      } else if (kind === "env") {
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
            readSecretFile(file, roots).then((read) => {
              if (typeof read === "string") return secret(read.replace(/\r?\n$/, ""));
              problemsHere.push(`cannot read ${text} (${file}): ${read.problem}`);
              return "";
            }),
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

/** The folders, symbolic links resolved; one that does not exist allows nothing. */
async function allowedRoots(folders: readonly string[]): Promise<string[]> {
  const real = await Promise.all(folders.map((folder) => realpath(folder).catch(() => undefined)));
  return real.filter((folder): folder is string => folder !== undefined);
}

/**
 * The content of a secret file as text, or why it is refused. The file's real path (every symbolic link
 * followed) must lie under one of `roots`, and it must be a regular file: checked with `stat` before it
 * is opened, and again on the open descriptor (opened non-blocking, without following a link) in case
 * it was swapped in between, so a FIFO or a device is never read.
 */
async function readSecretFile(
  file: string,
  roots: Promise<readonly string[]>,
): Promise<string | { problem: string }> {
  try {
    const real = await realpath(file);
    const allowed = await roots;
    if (!allowed.some((root) => real === root || real.startsWith(root.endsWith(sep) ? root : root + sep))) {
      const via = real === file ? "" : ` (it leads to ${real})`;
      return {
        problem: `it is outside the configuration's folder and secrets.folders, where secret files are read from${via}`,
      };
    }
    const kind = fileKind(await stat(real));
    if (kind !== undefined) return { problem: `it is ${kind}, not a regular file` };
    const handle = await open(real, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW);
    try {
      const info = await handle.stat();
      const swapped = fileKind(info);
      if (swapped !== undefined) return { problem: `it is ${swapped}, not a regular file` };
      if (info.size > MAX_SECRET_FILE_BYTES) return { problem: tooLarge() };
      const buffer = Buffer.alloc(MAX_SECRET_FILE_BYTES + 1);
      let length = 0;
      while (length < buffer.length) {
        const { bytesRead } = await handle.read(buffer, length, buffer.length - length, length);
        if (bytesRead === 0) break;
        length += bytesRead;
      }
      if (length > MAX_SECRET_FILE_BYTES) return { problem: tooLarge() };
      let text: string;
      try {
        text = new TextDecoder("utf-8", { fatal: true }).decode(buffer.subarray(0, length));
      } catch {
        return { problem: "it is not UTF-8 text" };
      }
      if (text.includes("\u0000")) return { problem: "it contains a NUL character" };
      return text;
    } finally {
      await handle.close();
    }
  } catch (error) {
    return { problem: describeFsError(error as NodeJS.ErrnoException) };
  }
}

function tooLarge(): string {
  return `it is larger than ${MAX_SECRET_FILE_BYTES / 1024} KiB, too large for a secret`;
}

/** What a file that is not a regular file is, in words; undefined for a regular file. */
function fileKind(info: Stats): string | undefined {
  if (info.isFile()) return undefined;
  if (info.isDirectory()) return "a folder";
  if (info.isFIFO()) return "a FIFO (named pipe)";
  if (info.isSocket()) return "a socket";
  if (info.isCharacterDevice()) return "a character device";
  if (info.isBlockDevice()) return "a block device";
  return "not a regular file";
}

function describeFsError(error: NodeJS.ErrnoException): string {
  switch (error.code) {
    case "ENOENT":
    case "ENOTDIR":
      return "no such file";
    case "EACCES":
    case "EPERM":
      return "permission denied";
    case "EISDIR":
      return "it is a folder";
    case "ELOOP":
      return "too many symbolic links";
    default:
      return error.code ?? "read failed";
  }
}
