import { randomBytes } from "node:crypto";
import fs from "node:fs/promises";
import { z } from "zod";
import { ConnectorError } from "./connector-types.js";

/**
 * Where a connector delivers the generated password of an account it creates (mariadb, postgres, Active
 * Directory). The password is appended to a 0600 file as one JSON line and synced before the account is
 * created: a user whose password nobody knows is worse than an unused line in the sink. It never
 * appears in a log, an audit event or an error message.
 */
export const passwordSinkSchema = z.strictObject({
  /** A file the password is appended to as one JSON line {system, username, password, at}; mode 0600. */
  file: z.string().min(1, "must not be empty"),
});

export type PasswordSink = z.output<typeof passwordSinkSchema>;

/** A random password of 32 URL-safe characters (192 bits). */
export function generatePassword(): string {
  return randomBytes(24).toString("base64url");
}

/**
 * Appends `{system, username, password, at}` to the sink file (created 0600) and syncs it.
 * @throws ConnectorError naming the file and the errno code, never the password.
 */
export async function deliverPassword(
  system: string,
  sink: PasswordSink,
  username: string,
  password: string,
  at: Date = new Date(),
): Promise<void> {
  const line = { system, username, password, at: at.toISOString() };
  await appendSinkLine(system, "password sink file", sink.file, line);
}

/**
 * Appends `record` as one JSON line to `file` (created 0600, made 0600 if it was not) and syncs it to disk
 * before returning. Shared with the rotation sinks (`secret-sink.ts`).
 * @throws ConnectorError `cannot write the <what> <file> (<errno code>)`, never the record's content.
 */
export async function appendSinkLine(
  system: string,
  what: string,
  file: string,
  record: Readonly<Record<string, unknown>>,
): Promise<void> {
  const line = `${JSON.stringify(record)}\n`;
  try {
    const handle = await fs.open(file, "a", 0o600);
    try {
      await handle.chmod(0o600);
      await handle.appendFile(line, "utf8");
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    throw new ConnectorError(
      system,
      "other",
      `cannot write the ${what} ${file}${typeof code === "string" ? ` (${code})` : ""}`,
    );
  }
}

/** Resolves the sink file against the config file's folder (connector-registry `resolvePaths`). */
export function resolveSinkPath(sink: PasswordSink, resolve: (file: string) => string): PasswordSink {
  return { ...sink, file: resolve(sink.file) };
}
