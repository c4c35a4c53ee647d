import pg from "pg";
import { createSerialQueue } from "../../shared/keyed-lock.js";
import { redactSecrets } from "../../shared/redact.js";
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
import { createPostgresRotator } from "./postgres-rotation.js";
import { invalidRoleNameReason, type PostgresConnectorConfig } from "./postgres-schemas.js";
import { scramSha256Verifier } from "./postgres-scram.js";

type Row = Record<string, unknown>;

/** The slice of node-postgres the connector uses: the pool, or one client of it inside a transaction. */
interface Queryable {
  query(text: string, values?: unknown[]): Promise<{ rows: Row[] }>;
}

/**
 * The comment Tenure puts on every role it creates (and on a login role it disables), so that a
 * disabled account — a NOLOGIN role — is still told apart from a group role, which is NOLOGIN too.
 */
export const ACCOUNT_MARKER = "tenure:account";

/** One role as the connector sees it. */
interface RoleRow {
  oid: string;
  name: string;
  login: boolean;
  /** Superuser, replication or BYPASSRLS: never listed or touched. */
  privileged: boolean;
  /** The role the connector connects as. */
  self: boolean;
  comment: string | null;
}

const ROLE_SELECT = `
  SELECT r.oid::text AS oid, r.rolname AS name, r.rolcanlogin AS login,
         (r.rolsuper OR r.rolreplication OR r.rolbypassrls) AS privileged,
         r.rolname = current_user AS self,
         shobj_description(r.oid, 'pg_authid') AS comment
    FROM pg_roles r`;

const MEMBERSHIP_SELECT = `
  SELECT DISTINCT m.rolname AS member, g.rolname AS role
    FROM pg_auth_members a
    JOIN pg_roles m ON m.oid = a.member
    JOIN pg_roles g ON g.oid = a.roleid`;

const ident = pg.escapeIdentifier;
const literal = pg.escapeLiteral;

/**
 * The `postgres` connector: login roles of a PostgreSQL cluster as accounts, group roles as
 * entitlements.
 *
 * - An account is a role that can log in, or that carries the `tenure:account` comment (every role
 *   Tenure creates, and a login role once Tenure disables it). A NOLOGIN role without that comment is a
 *   group role, never an account. Superusers, replication and BYPASSRLS roles, `pg_…` roles, the admin
 *   role itself and `excludeRoles` are never listed or touched; with `usernamePrefix`, only roles with
 *   the prefix are accounts. The native id is the role name.
 * - Entitlements are the group roles chosen by `groups` (a prefix or a list), by default every NOLOGIN
 *   role that is not an account. `grant` grants only those; an account's listed entitlements are all of
 *   its direct memberships, so memberships granted outside Tenure show up as drift.
 * - Names are validated (`invalidRoleNameReason`) and always sent as quoted identifiers.
 * - `create` generates a password, appends it to the password sink file (0600) before creating the role,
 *   and sends the server only its SCRAM-SHA-256 verifier (`postgres-scram.ts`), so the password is in no
 *   statement, server log or error. An existing account is left as it is.
 * - `disable` is `NOLOGIN` plus ending the role's open sessions in every database
 *   (`disableRefusesUse: true`); `enable` is `LOGIN`.
 * - `delete` runs in one transaction: the admin role makes itself a member of the role (REASSIGN OWNED
 *   and DROP OWNED need its privileges), `REASSIGN OWNED BY … TO reassignOwnedTo`, `DROP OWNED BY …`
 *   (the role's remaining privileges), `DROP ROLE`; then the role's sessions are ended. REASSIGN OWNED
 *   and DROP OWNED act on the connected database only: a role that owns objects in another database
 *   cannot be dropped, and delete fails saying so, changing nothing.
 * - Attributes are kept in `attributeTable` when configured: roles have none of their own.
 * - Writes are serialised within this instance, so concurrent creates or grants report one change.
 * - Failures are classified by the `sql` connector's `sql-errors.ts`.
 */
export function createPostgresConnector(system: string, config: PostgresConnectorConfig): Connector {
  const url = new URL(config.url);
  const secrets = url.password === "" ? [] : [...new Set([url.password, decoded(url.password)])];
  const database = decoded(url.pathname.slice(1));
  const target = `postgres://${url.host}${database === "" ? "" : `/${database}`}`;
  const excluded = new Set(config.excludeRoles);
  const groups = config.groups;
  const attributeTable =
    config.attributeTable === undefined ? undefined : config.attributeTable.split(".").map(ident).join(".");

  const pool = new pg.Pool({
    connectionString: config.url,
    max: 4,
    connectionTimeoutMillis: config.timeoutMs,
    lock_timeout: config.timeoutMs,
    application_name: "tenure",
  });
  // An idle connection dropped by the server must not crash the process; the next query reconnects.
  pool.on("error", () => {});
  let closed = false;
  let attributeTableReady: Promise<void> | undefined;

  /** One write at a time: account state checks and changes must not interleave. */
  const serialised = createSerialQueue();

  const fail = (what: string, err: unknown, extraSecrets: readonly string[] = []) =>
    toConnectorError(system, what, target, err, [...secrets, ...extraSecrets]);

  const invalid = (message: string) => new ConnectorError(system, "invalid", message);

  async function transaction<T>(fn: (db: Queryable) => Promise<T>): Promise<T> {
    const client = await pool.connect();
    let broken = false;
    try {
      await client.query("BEGIN");
      const result = await fn(client);
      await client.query("COMMIT");
      return result;
    } catch (err) {
      await client.query("ROLLBACK").catch(() => {
        broken = true;
      });
      throw err;
    } finally {
      // A connection whose ROLLBACK failed is in an unknown state: discard it rather than reuse it.
      client.release(broken);
    }
  }

  // ---- which roles are accounts and which are entitlements ----

  const isMarked = (role: RoleRow) => role.comment?.startsWith(ACCOUNT_MARKER) === true;
  const never = (role: RoleRow) => role.privileged || role.self || excluded.has(role.name);

  /** Names that the `groups` setting declares group roles, whatever they are now. */
  function namedAsGroup(name: string): boolean {
    if (groups?.roles !== undefined) return groups.roles.includes(name);
    if (groups?.prefix !== undefined) return name.startsWith(groups.prefix);
    return false;
  }

  /** Whether a role name may be an account at all: prefix, exclusions, reserved names, groups. */
  function managesName(name: string): boolean {
    if (excluded.has(name) || name.startsWith("pg_") || namedAsGroup(name)) return false;
    return config.usernamePrefix === undefined || name.startsWith(config.usernamePrefix);
  }

  const isAccount = (role: RoleRow) =>
    !never(role) && managesName(role.name) && (role.login || isMarked(role));

  function isGroup(role: RoleRow): boolean {
    if (never(role) || role.login || isMarked(role)) return false;
    if (groups?.roles !== undefined) return groups.roles.includes(role.name);
    if (role.name.startsWith("pg_")) return false;
    return groups?.prefix === undefined || role.name.startsWith(groups.prefix);
  }

  function checkName(kind: "username" | "role", value: string): void {
    const reason = invalidRoleNameReason(value, { predefined: kind === "role" });
    if (reason !== undefined) throw invalid(`${kind} ${JSON.stringify(value)} ${reason}`);
  }

  /** The role name an operation acts on, checked to be valid and possibly managed. */
  function usernameOf(ref: AccountRef): string {
    checkName("username", ref.username);
    if (!managesName(ref.username)) {
      throw invalid(
        `role ${JSON.stringify(ref.username)} is not managed by Tenure (excluded, without the configured prefix, or a configured group role)`,
      );
    }
    return ref.username;
  }

  function checkAccount(role: RoleRow): void {
    if (isAccount(role)) return;
    const name = JSON.stringify(role.name);
    if (role.privileged) throw invalid(`role ${name} is a superuser, replication or BYPASSRLS role`);
    if (role.self) throw invalid(`role ${name} is the role Tenure connects as`);
    throw invalid(`role ${name} is a group role (NOLOGIN, not created by Tenure), not an account`);
  }

  async function findRole(db: Queryable, name: string): Promise<RoleRow | undefined> {
    const { rows } = await db.query(`${ROLE_SELECT} WHERE r.rolname = $1`, [name]);
    return rows[0] as RoleRow | undefined;
  }

  /** The account named, or not_found; a role that is not an account is an invalid request. */
  async function requireAccount(db: Queryable, name: string): Promise<RoleRow> {
    const role = await findRole(db, name);
    if (role === undefined) {
      throw new ConnectorError(
        system,
        "not_found",
        `account ${JSON.stringify(name)} does not exist in ${target}`,
        { retryable: false },
      );
    }
    checkAccount(role);
    return role;
  }

  async function holdsRole(db: Queryable, member: string, role: string): Promise<boolean> {
    const { rows } = await db.query(`${MEMBERSHIP_SELECT} WHERE m.rolname = $1 AND g.rolname = $2`, [
      member,
      role,
    ]);
    return rows.length > 0;
  }

  /**
   * Ends every session of the role (by oid, so it also works after DROP ROLE), waiting up to timeoutMs
   * for each to go. Needs pg_signal_backend (or membership in the role).
   */
  async function endSessions(name: string, oid: string): Promise<void> {
    await pool.query(
      `SELECT pg_terminate_backend(pid, $2) FROM pg_stat_activity
        WHERE usesysid = $1::oid AND pid <> pg_backend_pid()`,
      [oid, config.timeoutMs],
    );
    const { rows } = await pool.query(
      "SELECT count(*)::int AS open FROM pg_stat_activity WHERE usesysid = $1::oid",
      [oid],
    );
    const open = Number(rows[0]?.open ?? 0);
    if (open > 0) {
      throw new ConnectorError(
        system,
        "other",
        `role ${JSON.stringify(name)} still has ${open} open session(s) on ${target} after pg_terminate_backend`,
        { retryable: true },
      );
    }
  }

  // ---- attributes ----

  function checkAttributesWritable(attributes: Record<string, string | null>): void {
    if (attributeTable !== undefined) return;
    if (Object.values(attributes).every((value) => value === null)) return;
    throw invalid("cannot store attributes: PostgreSQL roles have none; configure attributeTable");
  }

  async function ensureAttributeTable(): Promise<void> {
    if (attributeTable === undefined) return;
    attributeTableReady ??= pool
      .query(
        `CREATE TABLE IF NOT EXISTS ${attributeTable} (
           role text NOT NULL, name text NOT NULL, value text NOT NULL, PRIMARY KEY (role, name))`,
      )
      .then(() => undefined);
    attributeTableReady.catch(() => {
      attributeTableReady = undefined;
    });
    await attributeTableReady;
  }

  async function readAttributes(
    db: Queryable,
    role?: string,
  ): Promise<Map<string, Record<string, string | null>>> {
    const out = new Map<string, Record<string, string | null>>();
    if (attributeTable === undefined) return out;
    const { rows } =
      role === undefined
        ? await db.query(`SELECT role, name, value FROM ${attributeTable}`)
        : await db.query(`SELECT role, name, value FROM ${attributeTable} WHERE role = $1`, [role]);
    for (const row of rows) {
      const attrs = out.get(String(row.role)) ?? {};
      attrs[String(row.name)] = String(row.value);
      out.set(String(row.role), attrs);
    }
    return out;
  }

  /** Writes attributes (null removes one); returns whether anything changed. */
  async function writeAttributes(
    db: Queryable,
    role: string,
    attributes: Record<string, string | null>,
  ): Promise<boolean> {
    if (attributeTable === undefined) return false;
    const current = (await readAttributes(db, role)).get(role) ?? {};
    let changed = false;
    for (const [name, value] of Object.entries(attributes)) {
      if ((current[name] ?? null) === value) continue;
      changed = true;
      if (value === null) {
        await db.query(`DELETE FROM ${attributeTable} WHERE role = $1 AND name = $2`, [role, name]);
      } else {
        await db.query(
          `INSERT INTO ${attributeTable} (role, name, value) VALUES ($1, $2, $3)
           ON CONFLICT (role, name) DO UPDATE SET value = EXCLUDED.value`,
          [role, name, value],
        );
      }
    }
    return changed;
  }

  async function clearAttributes(db: Queryable, role: string): Promise<void> {
    if (attributeTable !== undefined) {
      await db.query(`DELETE FROM ${attributeTable} WHERE role = $1`, [role]);
    }
  }

  const guard = () => {
    if (closed) throw new ConnectorError(system, "other", "connector is closed");
  };

  /**
   * One write to one account: the name checked, run after the writes before it, and any failure reported
   * as `<what> failed on <target> (<cause>)`. `fn` throws ConnectorErrors of its own as they are.
   */
  async function write(
    ref: AccountRef,
    what: (name: string) => string,
    fn: (name: string) => Promise<WriteResult>,
  ): Promise<WriteResult> {
    guard();
    const name = usernameOf(ref);
    return serialised(async () => {
      try {
        return await fn(name);
      } catch (err) {
        throw fail(what(name), err);
      }
    });
  }

  async function listRoles(): Promise<RoleRow[]> {
    guard();
    return (await pool.query(`${ROLE_SELECT} ORDER BY r.rolname`)).rows as unknown as RoleRow[];
  }

  const quoted = (name: string) => JSON.stringify(name);

  return {
    describe: () => ({
      type: "postgres",
      system,
      disableRefusesUse: true,
      supportsRotation: true,
      readsAccounts: true,
    }),

    async listAccounts(): Promise<Account[]> {
      try {
        const accounts = (await listRoles()).filter(isAccount);
        await ensureAttributeTable();
        const names = new Set(accounts.map((role) => role.name));
        const memberships = new Map<string, string[]>();
        for (const row of (await pool.query(MEMBERSHIP_SELECT)).rows) {
          const member = String(row.member);
          if (!names.has(member)) continue;
          memberships.set(member, [...(memberships.get(member) ?? []), String(row.role)]);
        }
        const attributes = await readAttributes(pool);
        return accounts.map((role) => ({
          nativeId: role.name,
          username: role.name,
          enabled: role.login,
          attributes: attributes.get(role.name) ?? {},
          entitlements: (memberships.get(role.name) ?? []).sort(),
        }));
      } catch (err) {
        throw fail("listing roles", err);
      }
    },

    async listEntitlements(): Promise<EntitlementInfo[]> {
      try {
        const groupRoles = (await listRoles()).filter(isGroup);
        return groupRoles.map((role) => ({ key: role.name, displayName: role.comment }));
      } catch (err) {
        throw fail("listing group roles", err);
      }
    },

    create: (spec: AccountSpec) =>
      write(
        spec,
        (name) => `creating role ${quoted(name)}`,
        async (name) => {
          checkAttributesWritable(spec.attributes);
          const existing = async (): Promise<WriteResult | undefined> => {
            const role = await findRole(pool, name);
            if (role === undefined) return undefined;
            checkAccount(role);
            return { changed: false, nativeId: name };
          };
          const found = await existing();
          if (found !== undefined) return found;
          await ensureAttributeTable();
          const password = generatePassword();
          const verifier = scramSha256Verifier(password);
          try {
            // Delivered first: a role whose password nobody knows is worse than an unused line in the sink.
            await deliverPassword(system, config.passwordSink, name, password);
            const limit =
              config.connectionLimit === undefined ? "" : ` CONNECTION LIMIT ${config.connectionLimit}`;
            await transaction(async (db) => {
              await db.query(
                `CREATE ROLE ${ident(name)} ${spec.enabled ? "LOGIN" : "NOLOGIN"} NOSUPERUSER NOCREATEDB` +
                  ` NOCREATEROLE NOREPLICATION NOBYPASSRLS INHERIT${limit} PASSWORD ${literal(verifier)}`,
              );
              await db.query(`COMMENT ON ROLE ${ident(name)} IS ${literal(ACCOUNT_MARKER)}`);
              // Rows left by a role of the same name dropped outside Tenure are not this account's.
              await clearAttributes(db, name);
              await writeAttributes(db, name, spec.attributes);
            });
            return { changed: true, nativeId: name };
          } catch (err) {
            // duplicate_object: another Tenure process created it meanwhile.
            const raced = (err as { code?: unknown }).code === "42710" ? await existing() : undefined;
            if (raced !== undefined) return raced;
            throw fail(`creating role ${quoted(name)}`, err, [password, verifier]);
          }
        },
      ),

    update: (ref: AccountRef, attributes: Record<string, string | null>) =>
      write(
        ref,
        (name) => `updating role ${quoted(name)}`,
        async (name) => {
          checkAttributesWritable(attributes);
          await requireAccount(pool, name);
          await ensureAttributeTable();
          return { changed: await transaction((db) => writeAttributes(db, name, attributes)) };
        },
      ),

    /**
     * A new generated password for an existing role (a rehire's account, before it is enabled again):
     * delivered to the sink first, then only its SCRAM verifier sent, as for create. LOGIN is unchanged.
     */
    rotateCredential: (ref: AccountRef) =>
      write(
        ref,
        (name) => `setting a new password for role ${quoted(name)}`,
        async (name) => {
          await requireAccount(pool, name);
          const password = generatePassword();
          const verifier = scramSha256Verifier(password);
          try {
            await deliverPassword(system, config.passwordSink, name, password);
            await pool.query(`ALTER ROLE ${ident(name)} PASSWORD ${literal(verifier)}`);
            return { changed: true, nativeId: name };
          } catch (err) {
            throw fail(`setting a new password for role ${quoted(name)}`, err, [password, verifier]);
          }
        },
      ),

    enable: (ref: AccountRef) =>
      write(
        ref,
        (name) => `enabling role ${quoted(name)}`,
        async (name) => {
          const role = await requireAccount(pool, name);
          if (role.login) return { changed: false };
          await pool.query(`ALTER ROLE ${ident(name)} LOGIN`);
          return { changed: true };
        },
      ),

    disable: (ref: AccountRef) =>
      write(
        ref,
        (name) => `disabling role ${quoted(name)}`,
        async (name) => {
          const role = await requireAccount(pool, name);
          if (role.login || !isMarked(role)) {
            await transaction(async (db) => {
              // Marked, so the disabled role is still listed as an account, not taken for a group role.
              if (!isMarked(role))
                await db.query(`COMMENT ON ROLE ${ident(name)} IS ${literal(ACCOUNT_MARKER)}`);
              if (role.login) await db.query(`ALTER ROLE ${ident(name)} NOLOGIN`);
            });
          }
          // NOLOGIN refuses new logins only; open sessions are ended, even when it was already NOLOGIN.
          await endSessions(name, role.oid);
          return { changed: role.login };
        },
      ),

    delete: (ref: AccountRef) =>
      write(
        ref,
        (name) => `deleting role ${quoted(name)}`,
        async (name) => {
          await ensureAttributeTable();
          const role = await findRole(pool, name);
          if (role === undefined) {
            await clearAttributes(pool, name);
            return { changed: false };
          }
          checkAccount(role);
          if (config.reassignOwnedTo === undefined) {
            throw invalid(
              `cannot delete role ${quoted(name)}: configure reassignOwnedTo, the role that receives what it owns`,
            );
          }
          const successor = ident(config.reassignOwnedTo);
          try {
            await transaction(async (db) => {
              // REASSIGN OWNED and DROP OWNED need the privileges of the role being dropped; the membership
              // ends with DROP ROLE.
              await db.query(`GRANT ${ident(name)} TO CURRENT_USER`);
              await db.query(`REASSIGN OWNED BY ${ident(name)} TO ${successor}`);
              await db.query(`DROP OWNED BY ${ident(name)}`);
              await db.query(`DROP ROLE ${ident(name)}`);
              await clearAttributes(db, name);
            });
          } catch (err) {
            const e = err as { code?: unknown; detail?: unknown };
            if (e.code !== "2BP01") throw err;
            const detail = typeof e.detail === "string" ? ` (${redactSecrets(e.detail, secrets)})` : "";
            throw new ConnectorError(
              system,
              "other",
              `deleting role ${quoted(name)} failed on ${target}: it still owns objects or holds privileges that REASSIGN OWNED and DROP OWNED could not remove${detail}. They act on the connected database only, and revoke only what the admin role may revoke: run them in each other database named, and have the grantor revoke privileges granted directly to the role, then retry`,
              { retryable: false },
            );
          }
          // A dropped role's sessions go on running until ended.
          await endSessions(name, role.oid);
          return { changed: true };
        },
      ),

    grant: (ref: AccountRef, entitlement: string) =>
      write(
        ref,
        (name) => `granting role ${quoted(entitlement)} to ${quoted(name)}`,
        async (name) => {
          checkName("role", entitlement);
          await requireAccount(pool, name);
          const group = await findRole(pool, entitlement);
          if (group === undefined) throw invalid(`role ${quoted(entitlement)} does not exist in ${target}`);
          if (!isGroup(group)) {
            throw invalid(
              `role ${quoted(entitlement)} is not a group role Tenure may grant (see groups and excludeRoles)`,
            );
          }
          if (await holdsRole(pool, name, entitlement)) return { changed: false };
          await pool.query(`GRANT ${ident(entitlement)} TO ${ident(name)}`);
          return { changed: true };
        },
      ),

    revoke: (ref: AccountRef, entitlement: string) =>
      write(
        ref,
        (name) => `revoking role ${quoted(entitlement)} from ${quoted(name)}`,
        async (name) => {
          checkName("role", entitlement);
          if (!(await holdsRole(pool, name, entitlement))) return { changed: false };
          const role = await findRole(pool, name);
          if (role !== undefined) checkAccount(role);
          await pool.query(`REVOKE ${ident(entitlement)} FROM ${ident(name)}`);
          if (await holdsRole(pool, name, entitlement)) {
            // PostgreSQL 16 revokes only the grants made by the revoking role (GRANTED BY).
            throw new ConnectorError(
              system,
              "permission",
              `role ${quoted(name)} is still a member of ${quoted(entitlement)} after REVOKE: the membership was granted by another role, which must revoke it`,
              { retryable: false },
            );
          }
          return { changed: true };
        },
      ),

    credentials: createPostgresRotator({
      system,
      config,
      usernameOf,
      accountCanLogIn: async (name) => (await requireAccount(pool, name)).login,
      query: (text) => {
        guard();
        return pool.query(text);
      },
      serialised,
      fail,
    }),

    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      await pool.end().catch(() => undefined);
    },
  };
}

/** A URL part percent-decoded, or as written when it is not valid percent-encoding. */
function decoded(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}
