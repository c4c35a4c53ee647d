import { createHash, createHmac, pbkdf2Sync, randomBytes } from "node:crypto";

/** PostgreSQL's default iteration count for SCRAM-SHA-256 (`scram_iterations`, 4096). */
export const SCRAM_ITERATIONS = 4096;

/**
 * The SCRAM-SHA-256 verifier PostgreSQL stores for a password (RFC 5802/7677, as `pg_authid.rolpassword`
 * holds it): `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`.
 *
 * `CREATE ROLE … PASSWORD '<verifier>'` stores it as it is, so the password itself never travels to the
 * server: not in the statement text, the server log (`log_statement`), `pg_stat_activity` or an error
 * message. A password stored this way also answers `md5` and `password` authentication (the server
 * uses SCRAM for `md5` when the stored secret is a SCRAM verifier).
 *
 * The password must be ASCII without control characters: SASLprep (RFC 4013), which PostgreSQL applies
 * before hashing, leaves such strings unchanged, and this function does not implement it.
 * @throws Error when the password is not printable ASCII.
 */
export function scramSha256Verifier(
  password: string,
  salt: Buffer = randomBytes(16),
  iterations: number = SCRAM_ITERATIONS,
): string {
  if (!/^[\x20-\x7e]*$/.test(password)) {
    throw new Error("scramSha256Verifier accepts printable ASCII passwords only (no SASLprep)");
  }
  const salted = pbkdf2Sync(password, salt, iterations, 32, "sha256");
  const clientKey = createHmac("sha256", salted).update("Client Key").digest();
  const storedKey = createHash("sha256").update(clientKey).digest();
  const serverKey = createHmac("sha256", salted).update("Server Key").digest();
  return `SCRAM-SHA-256$${iterations}:${salt.toString("base64")}$${storedKey.toString("base64")}:${serverKey.toString("base64")}`;
}
