import mysql from "mysql2/promise";
import type { AccountRef, ConnectorError, CredentialRotator } from "../connector-types.js";
import type { MariadbConnectorConfig } from "./mariadb-schemas.js";

/** What the rotation needs of the connector it belongs to (mariadb-connector.ts hands these in). */
export interface MariadbRotationDeps {
  system: string;
  config: MariadbConnectorConfig;
  /** The user an operation acts on, checked valid and managed (throws `invalid` otherwise). */
  usernameOf(ref: AccountRef): string;
  /** Whether the user is locked; throws not_found when it does not exist. */
  isLocked(username: string): Promise<boolean>;
  /** Runs one statement on the admin pool with `?` values. */
  query(text: string, values: unknown[]): Promise<unknown>;
  /** `'user'@'host'`, escaped. */
  account(username: string): string;
  /** Runs `fn` after the connector's other writes (they are serialised). */
  serialised<T>(fn: () => Promise<T>): Promise<T>;
  /** The connector's error wrapping: `<what> failed on <target> (<cause>)`, with `secrets` masked. */
  fail(what: string, err: unknown, secrets: readonly string[]): ConnectorError;
  /** The connector's own `invalid` error. */
  invalid(message: string): ConnectorError;
}

/**
 * The `mariadb` connector's credential rotation: a MariaDB user holds one password, so `setSecret`
 * replaces it (`ALTER USER … IDENTIFIED BY ?`, the value sent as a bound parameter), and `verify` opens a
 * new connection as the user with the new password to the admin URL's host and port and runs `SELECT 1`.
 * A locked (disabled) user is refused before anything changes: its new password could not be verified.
 */
export function createMariadbRotator(deps: MariadbRotationDeps): CredentialRotator {
  const quoted = (name: string) => JSON.stringify(name);
  const url = new URL(deps.config.url);

  return {
    holdsTwo: false,

    async setSecret(ref, secret) {
      const username = deps.usernameOf(ref);
      await deps.serialised(async () => {
        try {
          if (await deps.isLocked(username)) {
            throw deps.invalid(
              `user ${quoted(username)} is locked (disabled): unlock it before rotating its password, which is verified by logging in`,
            );
          }
          await deps.query(`ALTER USER ${deps.account(username)} IDENTIFIED BY ?`, [secret]);
        } catch (err) {
          throw deps.fail(`setting the rotated password of user ${quoted(username)}`, err, [secret]);
        }
      });
    },

    async verify(ref, secret) {
      const username = deps.usernameOf(ref);
      let connection: mysql.Connection | undefined;
      try {
        connection = await mysql.createConnection({
          host: url.hostname.replace(/^\[(.*)\]$/, "$1"),
          port: url.port === "" ? 3306 : Number(url.port),
          user: username,
          password: secret,
          connectTimeout: deps.config.timeoutMs,
        });
        await connection.query("SELECT 1");
      } catch (err) {
        throw deps.fail(`logging in as user ${quoted(username)} with the new password`, err, [secret]);
      } finally {
        await connection?.end().catch(() => {});
      }
    },
  };
}
