import pg from "pg";
import { type AccountRef, ConnectorError, type CredentialRotator } from "../connector-types.js";
import type { PostgresConnectorConfig } from "./postgres-schemas.js";
import { scramSha256Verifier } from "./postgres-scram.js";

/** What the rotation needs of the connector it belongs to (postgres-connector.ts hands these in). */
export interface PostgresRotationDeps {
  system: string;
  config: PostgresConnectorConfig;
  /** The role an operation acts on, checked valid and managed (throws `invalid` otherwise). */
  usernameOf(ref: AccountRef): string;
  /** Whether the account exists and may log in; throws not_found / invalid for anything not an account. */
  accountCanLogIn(name: string): Promise<boolean>;
  /** Runs one statement on the admin pool. */
  query(text: string): Promise<unknown>;
  /** Runs `fn` after the connector's other writes (they are serialised). */
  serialised<T>(fn: () => Promise<T>): Promise<T>;
  /** The connector's error wrapping: `<what> failed on <target> (<cause>)`, with `secrets` masked. */
  fail(what: string, err: unknown, secrets: readonly string[]): ConnectorError;
}

/**
 * The `postgres` connector's credential rotation: a role holds one password, so `setSecret` replaces it
 * (`ALTER ROLE … PASSWORD` with only the SCRAM-SHA-256 verifier, as `create` does: the secret is in no
 * statement or server log), and `verify` opens a new connection as the role with the new password to the
 * admin URL's host and database and runs `SELECT 1`. A NOLOGIN (disabled) role is refused before anything
 * changes: its new password could not be verified.
 */
export function createPostgresRotator(deps: PostgresRotationDeps): CredentialRotator {
  const { system } = deps;
  const quoted = (name: string) => JSON.stringify(name);

  return {
    holdsTwo: false,

    async setSecret(ref, secret) {
      const name = deps.usernameOf(ref);
      const verifier = scramSha256Verifier(secret);
      const what = `setting the rotated password of role ${quoted(name)}`;
      await deps.serialised(async () => {
        try {
          if (!(await deps.accountCanLogIn(name))) {
            throw new ConnectorError(
              system,
              "invalid",
              `role ${quoted(name)} is NOLOGIN (disabled): enable it before rotating its password, which is verified by logging in`,
              { retryable: false },
            );
          }
          await deps.query(`ALTER ROLE ${pg.escapeIdentifier(name)} PASSWORD ${pg.escapeLiteral(verifier)}`);
        } catch (err) {
          throw deps.fail(what, err, [secret, verifier]);
        }
      });
    },

    async verify(ref, secret) {
      const name = deps.usernameOf(ref);
      const url = new URL(deps.config.url);
      url.username = encodeURIComponent(name);
      url.password = encodeURIComponent(secret);
      const client = new pg.Client({
        connectionString: url.toString(),
        connectionTimeoutMillis: deps.config.timeoutMs,
        application_name: "tenure-rotation-verify",
      });
      // A connection that fails after connecting must not crash the process with an unhandled 'error'.
      client.on("error", () => {});
      try {
        await client.connect();
        await client.query("SELECT 1");
      } catch (err) {
        throw deps.fail(`logging in as role ${quoted(name)} with the new password`, err, [
          secret,
          encodeURIComponent(secret),
        ]);
      } finally {
        await client.end().catch(() => {});
      }
    },
  };
}
