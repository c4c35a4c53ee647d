/**
 * Reads a password sink file (src/connectors/password-sink.ts) the way a person given it would: one JSON
 * line per delivered password, the last line for a username being its current password.
 */
import fs from "node:fs/promises";

export interface SinkEntry {
  system: string;
  username: string;
  password: string;
  at: string;
}

/** Every line of the sink file; none when it does not exist yet. */
export async function readSinkFile(file: string): Promise<SinkEntry[]> {
  const text = await fs.readFile(file, "utf8").catch(() => "");
  return text
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => JSON.parse(line) as SinkEntry);
}

/** The password last delivered for `username`. Throws when there is none. */
export async function lastPasswordOf(file: string, username: string): Promise<string> {
  const last = (await readSinkFile(file)).filter((e) => e.username === username).at(-1);
  if (last === undefined) throw new Error(`no password for ${username} in the sink`);
  return last.password;
}
