import { setTimeout as sleep } from "node:timers/promises";
import mysql from "mysql2/promise";
import { createSerialQueue } from "../../shared/keyed-lock.js";
import {
  type Account,
  type AccountRef,
  type AccountSpec,
  type Connector,
  ConnectorError,
  type EntitlementInfo,
  type WriteResult,
} from "../connector-types.js";
import { deliverPassword, generatePassword } from "../password-sink.js";
import { toConnectorError } from "../sql/sql-errors.js";
import { createMariadbRotator } from "./mariadb-rotation.js";
import { invalidNameReason, type MariadbConnectorConfig, SYSTEM_USERS } from "./mariadb-schemas.js";

/** How long a disable waits for the sessions it killed to leave the process list, at most. */
const KILL_SETTLE_MS = 2_000;

type Row = Record<string, unknown>;

/**
 * The `mariadb` connector: database users of a MariaDB server as accounts, MariaDB roles as
 * entitlements.
 *
 * - An account is `'user'@'host'` with the configured host; its native id is `user@host`. Only users
 *   that start with `usernamePrefix` (when set) and are not system users (root, mariadb.sys, mysql, and
 *   `excludeUsers`) are listed or touched.
 * - Names are validated (`invalidNameReason`) and always passed as string literals escaped by mysql2;
 *   nothing is concatenated raw.
 * - `create` generates a random password, appends it to the password sink file (0600) before creating
 *   the user, and never logs it or puts it in a message. An existing user is left as it is.
 * - `disable` locks the account and kills its open sessions (`disableRefusesUse: true`); `enable`
 *   unlocks it.
 * - Attributes are kept in `attributeTable` when configured: MariaDB users have none of their own.
 * - Writes are serialised within this instance, so concurrent creates or grants report one change.
 * - Failures are classified by the `sql` connector's `sql-errors.ts`.
 */
export function createMariadbConnector(system: string, config: MariadbConnectorConfig): Connector {
  const url = new URL(config.url);
  const adminPassword = decodeURIComponent(url.password);
  const secrets: string[] = adminPassword === "" ? [] : [adminPassword];
  const target = `mariadb://${url.hostname}${url.port === "" ? "" : `:${url.port}`}`;
  const host = config.host;
  const excluded = new Set([...SYSTEM_USERS, ...config.excludeUsers]);
  const attributeTable =
    config.attributeTable === undefined ? undefined : mysql.escapeId(config.attributeTable);

  const pool = mysql.createPool({
    host: url.hostname.replace(/^\[(.*)\]$/, "$1"),
    port: url.port === "" ? 3306 : Number(url.port),
    user: decodeURIComponent(url.username),
    password: adminPassword,
    database: decodeURIComponent(url.pathname.slice(1)) || undefined,
    connectTimeout: config.timeoutMs,
    charset: "utf8mb4_general_ci",
    connectionLimit: 4,
  });
  let closed = false;
  let attributeTableReady: Promise<void> | undefined;

  /** One write at a time: account state checks and changes must not interleave. */
  const serialised = createSerialQueue();

  const fail = (what: string, err: unknown, extraSecrets: readonly string[] = []) =>
    toConnectorError(system, what, target, err, [...secrets, ...extraSecrets]);

  async function query(sqlText: string, values: unknown[] = []): Promise<Row[]> {
    const [rows] = await pool.query(sqlText, values);
    return Array.isArray(rows) ? (rows as Row[]) : [];
  }

  /**
   * Waits until the sessions `ids` have left the process list, for KILL_SETTLE_MS at most. KILL only
   * marks a thread killed, and it leaves the list when it next runs: a read-back right after the disable
   * (what an auditor or a test does) could still see a session that can no longer run anything. One
   * still listed after that is marked killed, which is all KILL can do; the disable stands.
   */
  async function sessionsGone(ids: readonly number[]): Promise<void> {
    const until = Date.now() + KILL_SETTLE_MS;
    while (ids.length > 0 && Date.now() < until) {
      const left = await query(
        `SELECT id FROM information_schema.processlist WHERE id IN (${ids.map(() => "?").join(", ")})`,
        [...ids],
      );
      if (left.length === 0) return;
      await sleep(10);
    }
  }

  /** `'user'@'host'`, both escaped as string literals. */
  const account = (username: string) => `${mysql.escape(username)}@${mysql.escape(host)}`;

  function manages(username: string): boolean {
    if (excluded.has(username)) return false;
    return config.usernamePrefix === undefined || username.startsWith(config.usernamePrefix);
  }

  function checkName(kind: "username" | "role", value: string): void {
    const reason = invalidNameReason(value);
    if (reason !== undefined) {
      throw new ConnectorError(system, "invalid", `${kind} ${JSON.stringify(value)} ${reason}`);
    }
  }

  /** The username an operation acts on, checked to be valid and managed. */
  function usernameOf(ref: AccountRef): string {
    checkName("username", ref.username);
    if (!manages(ref.username)) {
      throw new ConnectorError(
        system,
        "invalid",
        `user ${JSON.stringify(ref.username)} is not managed by Tenure (system user, excluded or without the configured prefix)`,
      );
    }
    return ref.username;
  }

  async function ensureAttributeTable(): Promise<void> {
    if (attributeTable === undefined) return;
    attributeTableReady ??= query(
      `CREATE TABLE IF NOT EXISTS ${attributeTable} (
         user VARCHAR(128) NOT NULL, host VARCHAR(255) NOT NULL, name VARCHAR(128) NOT NULL,
         value TEXT NULL, PRIMARY KEY (user, host, name)
       ) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`,
    ).then(() => undefined);
    attributeTableReady.catch(() => {
      attributeTableReady = undefined;
    });
    await attributeTableReady;
  }

  async function readAttributes(username?: string): Promise<Map<string, Record<string, string | null>>> {
    const out = new Map<string, Record<string, string | null>>();
    if (attributeTable === undefined) return out;
    await ensureAttributeTable();
    const rows =
      username === undefined
        ? await query(`SELECT user, name, value FROM ${attributeTable} WHERE host = ?`, [host])
        : await query(`SELECT user, name, value FROM ${attributeTable} WHERE host = ? AND user = ?`, [
            host,
            username,
          ]);
    for (const row of rows) {
      const user = String(row.user);
      const attrs = out.get(user) ?? {};
      attrs[String(row.name)] = row.value === null ? null : String(row.value);
      out.set(user, attrs);
    }
    return out;
  }

  /** Writes attributes; returns whether anything changed. Null removes the attribute. */
  async function writeAttributes(
    username: string,
    attributes: Record<string, string | null>,
  ): Promise<boolean> {
    const entries = Object.entries(attributes);
    if (entries.length === 0) return false;
    if (attributeTable === undefined) {
      if (entries.every(([, value]) => value === null)) return false;
      throw new ConnectorError(
        system,
        "invalid",
        "cannot store attributes: MariaDB users have none; configure attributeTable",
      );
    }
    const current = (await readAttributes(username)).get(username) ?? {};
    let changed = false;
    for (const [name, value] of entries) {
      const before = current[name] ?? null;
      if (before === value) continue;
      changed = true;
      if (value === null) {
        await query(`DELETE FROM ${attributeTable} WHERE user = ? AND host = ? AND name = ?`, [
          username,
          host,
          name,
        ]);
      } else {
        await query(
          `INSERT INTO ${attributeTable} (user, host, name, value) VALUES (?, ?, ?, ?)
           ON DUPLICATE KEY UPDATE value = VALUES(value)`,
          [username, host, name, value],
        );
      }
    }
    return changed;
  }

  /** Whether the user exists, and whether it is locked. */
  async function findUser(username: string): Promise<{ locked: boolean } | undefined> {
    const rows = await query(
      `SELECT JSON_VALUE(Priv, '$.account_locked') AS locked FROM mysql.global_priv WHERE User = ? AND Host = ?`,
      [username, host],
    );
    if (rows[0] === undefined) return undefined;
    return { locked: isTrue(rows[0].locked) };
  }

  async function requireUser(username: string): Promise<{ locked: boolean }> {
    const found = await findUser(username);
    if (found === undefined) {
      throw new ConnectorError(
        system,
        "not_found",
        `account ${JSON.stringify(username)}@${JSON.stringify(host)} does not exist in ${target}`,
        { retryable: false },
      );
    }
    return found;
  }

  async function holdsRole(username: string, role: string): Promise<boolean> {
    const rows = await query(
      "SELECT 1 AS held FROM mysql.roles_mapping WHERE User = ? AND Host = ? AND Role = ?",
      [username, host, role],
    );
    return rows.length > 0;
  }

  const nativeIdOf = (username: string) => `${username}@${host}`;
  const guard = () => {
    if (closed) throw new ConnectorError(system, "other", "connector is closed");
  };

  return {
    describe: () => ({
      type: "mariadb",
      system,
      disableRefusesUse: true,
      supportsRotation: true,
      readsAccounts: true,
    }),

    async listAccounts(): Promise<Account[]> {
      guard();
      try {
        const users = await query(
          `SELECT g.User AS user, JSON_VALUE(g.Priv, '$.account_locked') AS locked
             FROM mysql.global_priv g JOIN mysql.user u ON u.User = g.User AND u.Host = g.Host
            WHERE g.Host = ? AND u.is_role = 'N'
            ORDER BY g.User`,
          [host],
        );
        const grants = await query(
          "SELECT User AS user, Role AS role FROM mysql.roles_mapping WHERE Host = ?",
          [host],
        );
        const roles = new Map<string, string[]>();
        for (const row of grants) {
          const list = roles.get(String(row.user)) ?? [];
          list.push(String(row.role));
          roles.set(String(row.user), list);
        }
        const attributes = await readAttributes();
        return users
          .map((row) => ({ username: String(row.user), locked: isTrue(row.locked) }))
          .filter(({ username }) => manages(username))
          .map(({ username, locked }) => ({
            nativeId: nativeIdOf(username),
            username,
            enabled: !locked,
            attributes: attributes.get(username) ?? {},
            entitlements: (roles.get(username) ?? []).sort(),
          }));
      } catch (err) {
        throw fail("listing accounts", err);
      }
    },

    async listEntitlements(): Promise<EntitlementInfo[]> {
      guard();
      try {
        const rows = await query("SELECT User AS role FROM mysql.user WHERE is_role = 'Y' ORDER BY User");
        return rows.map((row) => ({ key: String(row.role) }));
      } catch (err) {
        throw fail("listing roles", err);
      }
    },

    async create(spec: AccountSpec): Promise<WriteResult> {
      guard();
      const username = usernameOf(spec);
      return serialised(async () => {
        const password = generatePassword();
        try {
          if ((await findUser(username)) !== undefined) {
            return { changed: false, nativeId: nativeIdOf(username) };
          }
          // Delivered first: a user whose password nobody knows is worse than an unused line in the sink.
          await deliverPassword(system, config.passwordSink, username, password);
          await query(
            `CREATE USER ${account(username)} IDENTIFIED BY ?${spec.enabled ? "" : " ACCOUNT LOCK"}`,
            [password],
          );
          await writeAttributes(username, spec.attributes);
          return { changed: true, nativeId: nativeIdOf(username) };
        } catch (err) {
          throw fail(`creating user ${JSON.stringify(username)}`, err, [password]);
        }
      });
    },

    async update(ref: AccountRef, attributes: Record<string, string | null>): Promise<WriteResult> {
      guard();
      const username = usernameOf(ref);
      return serialised(async () => {
        try {
          await requireUser(username);
          return { changed: await writeAttributes(username, attributes) };
        } catch (err) {
          throw fail(`updating user ${JSON.stringify(username)}`, err);
        }
      });
    },

    /**
     * A new generated password for an existing user (a rehire's account, before it is enabled again):
     * delivered to the sink first, then set; the lock is left as it is.
     */
    async rotateCredential(ref: AccountRef): Promise<WriteResult> {
      guard();
      const username = usernameOf(ref);
      return serialised(async () => {
        const password = generatePassword();
        try {
          await requireUser(username);
          await deliverPassword(system, config.passwordSink, username, password);
          await query(`ALTER USER ${account(username)} IDENTIFIED BY ?`, [password]);
          return { changed: true, nativeId: nativeIdOf(username) };
        } catch (err) {
          throw fail(`setting a new password for user ${JSON.stringify(username)}`, err, [password]);
        }
      });
    },

    async enable(ref: AccountRef): Promise<WriteResult> {
      guard();
      const username = usernameOf(ref);
      return serialised(async () => {
        try {
          const user = await requireUser(username);
          if (!user.locked) return { changed: false };
          await query(`ALTER USER ${account(username)} ACCOUNT UNLOCK`);
          return { changed: true };
        } catch (err) {
          throw fail(`enabling user ${JSON.stringify(username)}`, err);
        }
      });
    },

    async disable(ref: AccountRef): Promise<WriteResult> {
      guard();
      const username = usernameOf(ref);
      return serialised(async () => {
        try {
          const user = await requireUser(username);
          let changed = false;
          if (!user.locked) {
            await query(`ALTER USER ${account(username)} ACCOUNT LOCK`);
            changed = true;
          }
          // The lock refuses new logins only; open sessions are ended, even when already locked.
          // The process list names the user, not the host it matched, so sessions of the same user
          // name under another host are ended too.
          const sessions = await query("SELECT id FROM information_schema.processlist WHERE user = ?", [
            username,
          ]);
          const killed: number[] = [];
          for (const session of sessions) {
            try {
              await query("KILL ?", [Number(session.id)]);
              killed.push(Number(session.id));
            } catch (err) {
              // A session that ended meanwhile is what was wanted (ER_NO_SUCH_THREAD).
              if ((err as { errno?: unknown }).errno !== 1094) throw err;
            }
          }
          await sessionsGone(killed);
          return { changed };
        } catch (err) {
          throw fail(`disabling user ${JSON.stringify(username)}`, err);
        }
      });
    },

    async delete(ref: AccountRef): Promise<WriteResult> {
      guard();
      const username = usernameOf(ref);
      return serialised(async () => {
        try {
          const exists = (await findUser(username)) !== undefined;
          if (exists) await query(`DROP USER IF EXISTS ${account(username)}`);
          if (attributeTable !== undefined) {
            await ensureAttributeTable();
            await query(`DELETE FROM ${attributeTable} WHERE user = ? AND host = ?`, [username, host]);
          }
          return { changed: exists };
        } catch (err) {
          throw fail(`deleting user ${JSON.stringify(username)}`, err);
        }
      });
    },

    async grant(ref: AccountRef, role: string): Promise<WriteResult> {
      guard();
      const username = usernameOf(ref);
      checkName("role", role);
      return serialised(async () => {
        try {
          await requireUser(username);
          if (await holdsRole(username, role)) return { changed: false };
          const roles = await query("SELECT 1 AS found FROM mysql.user WHERE User = ? AND is_role = 'Y'", [
            role,
          ]);
          if (roles.length === 0) {
            throw new ConnectorError(
              system,
              "invalid",
              `role ${JSON.stringify(role)} does not exist in ${target}`,
            );
          }
          await query(`GRANT ${mysql.escapeId(role, true)} TO ${account(username)}`);
          return { changed: true };
        } catch (err) {
          throw fail(`granting role ${JSON.stringify(role)} to ${JSON.stringify(username)}`, err);
        }
      });
    },

    async revoke(ref: AccountRef, role: string): Promise<WriteResult> {
      guard();
      const username = usernameOf(ref);
      checkName("role", role);
      return serialised(async () => {
        try {
          if (!(await holdsRole(username, role))) return { changed: false };
          await query(`REVOKE ${mysql.escapeId(role, true)} FROM ${account(username)}`);
          return { changed: true };
        } catch (err) {
          throw fail(`revoking role ${JSON.stringify(role)} from ${JSON.stringify(username)}`, err);
        }
      });
    },

    credentials: createMariadbRotator({
      system,
      config,
      usernameOf,
      isLocked: async (username) => (await requireUser(username)).locked,
      query: (text, values) => {
        guard();
        return query(text, values);
      },
      account,
      serialised,
      fail,
      invalid: (message) => new ConnectorError(system, "invalid", message, { retryable: false }),
    }),

    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      await pool.end().catch(() => undefined);
    },
  };
}

function isTrue(value: unknown): boolean {
  return value === true || value === 1 || value === "1" || value === "true";
}
