import { z } from "zod";
import { secret } from "../../shared/secret-field.js";
import { parseConnectorConfig, serverUrlSchema } from "../connector-config.js";
import { passwordSinkSchema } from "../password-sink.js";

/**
 * PostgreSQL keeps at most 63 bytes of an identifier (NAMEDATALEN - 1) and silently cuts longer ones,
 * so a longer name would create or match another role than the one asked for.
 */
export const MAX_NAME_BYTES = 63;

/** Role names PostgreSQL reserves even when quoted (`pg_…` too). */
const RESERVED_ROLE_NAMES: ReadonlySet<string> = new Set(["public", "none"]);

/**
 * Why a role name is refused, or undefined when it is acceptable: empty, longer than 63 bytes (UTF-8),
 * NUL or control characters (no sensible login holds them; NUL cannot even be sent), or reserved
 * (`public`, `none`, and `pg_…` unless `predefined` allows naming PostgreSQL's predefined roles). Quotes,
 * spaces and non-ASCII letters are fine: names are always sent as quoted identifiers
 * (`pg.escapeIdentifier`), never pasted raw.
 */
export function invalidRoleNameReason(
  name: string,
  options: { predefined?: boolean } = {},
): string | undefined {
  if (name.length === 0) return "must not be empty";
  if (Buffer.byteLength(name, "utf8") > MAX_NAME_BYTES) return `must be at most ${MAX_NAME_BYTES} bytes`;
  if (name.includes("\u0000")) return "must not contain a NUL character";
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
  if (/[\u0001-\u001f\u007f]/.test(name)) return "must not contain control characters";
  if (RESERVED_ROLE_NAMES.has(name)) return "is reserved by PostgreSQL";
  if (name.startsWith("pg_") && options.predefined !== true) return "is reserved by PostgreSQL (pg_…)";
  return undefined;
}

const roleNameSchema = (options: { predefined?: boolean } = {}) =>
  z.string().superRefine((value, ctx) => {
    const reason = invalidRoleNameReason(value, options);
    if (reason !== undefined) ctx.addIssue({ code: "custom", message: reason });
  });

/** `schema.table` or `table`; each part is quoted with `pg.escapeIdentifier`. */
const tableName = z
  .string()
  .min(1, "must not be empty")
  .refine((value) => !value.includes("\u0000"), "must not contain a NUL character")
  .refine(
    (value) => value.split(".").length <= 2 && value.split(".").every((part) => part !== ""),
    "must be TABLE or SCHEMA.TABLE",
  );

const urlSchema = serverUrlSchema(["postgres", "postgresql"], { query: true });

const groupsSchema = z
  .strictObject({
    /** Every NOLOGIN role whose name starts with this is an entitlement. */
    prefix: z.string().min(1, "must not be empty").optional(),
    /** Exactly these roles are the entitlements (predefined `pg_…` roles allowed). */
    roles: z
      .array(roleNameSchema({ predefined: true }))
      .min(1, "must name at least one role")
      .optional(),
  })
  .refine((groups) => (groups.prefix === undefined) !== (groups.roles === undefined), {
    message: "give either prefix or roles, not both or neither",
  });

export const postgresConnectorConfigSchema = z.strictObject({
  /**
   * The admin connection, `postgres://tenure:pass@host:5432/db` (or `postgresql://`); query parameters
   * such as `sslmode` are passed to node-postgres. The database is where `attributeTable` lives and where
   * `delete` reassigns and drops what the role owns.
   */
  url: secret(urlSchema),
  /** Only roles whose names start with this are listed and managed as accounts. */
  usernamePrefix: z.string().optional(),
  /**
   * More roles never listed or touched, besides superusers, replication and BYPASSRLS roles, the
   * predefined `pg_…` roles and the admin role itself.
   */
  excludeRoles: z.array(z.string()).default([]),
  /**
   * Which roles are entitlements (group roles). Without it, every NOLOGIN role that is not a Tenure
   * account and not excluded is one.
   */
  groups: groupsSchema.optional(),
  /** Where generated passwords of new roles are delivered. */
  passwordSink: passwordSinkSchema,
  /**
   * The role that receives what a deleted role owned (`REASSIGN OWNED BY … TO …`). Required for delete:
   * without it, delete fails and changes nothing.
   */
  reassignOwnedTo: roleNameSchema().optional(),
  /**
   * A table (created when missing) in the URL's database where account attributes are kept, which
   * PostgreSQL roles do not have. Without it, attributes cannot be written.
   */
  attributeTable: tableName.optional(),
  /** `CONNECTION LIMIT` of every role Tenure creates; default none (-1). */
  connectionLimit: z.number().int().min(-1).optional(),
  /** Connect timeout, and how long a statement waits for a lock, in milliseconds. */
  timeoutMs: z.number().int().positive().default(10_000),
});

/** The parsed configuration of one `postgres` system (defaults applied). */
export type PostgresConnectorConfig = z.output<typeof postgresConnectorConfigSchema>;
/** The configuration as written in tenure.yaml, before defaults. */
export type PostgresConnectorConfigInput = z.input<typeof postgresConnectorConfigSchema>;

/**
 * Parses the `postgres` configuration of one system, frozen.
 * @throws InvalidInputError naming `systems.<system>.<path>` for every problem; never echoes the URL.
 */
export function parsePostgresConnectorConfig(system: string, raw: unknown): PostgresConnectorConfig {
  return parseConnectorConfig("postgres", postgresConnectorConfigSchema, system, raw);
}
