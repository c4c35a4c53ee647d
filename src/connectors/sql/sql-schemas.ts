import { z } from "zod";
import { secret } from "../../shared/secret-field.js";
import { parseConnectorConfig, parseServerUrl } from "../connector-config.js";

/**
 * A table or column name as the application's database spells it. Any character is allowed because
 * every identifier is quoted by the dialect; NUL is refused because no database accepts it and the
 * C drivers would cut the name there.
 */
const identifier = z
  .string()
  .min(1, "must not be empty")
  .refine((name) => !name.includes("\u0000"), "must not contain a NUL character");

/** A value stored in the enabled column: booleans for boolean columns, numbers or text otherwise. */
const flagValue = z.union([z.string(), z.number(), z.boolean()]);

export type SqlDialectName = "sqlite" | "postgres" | "mysql";

/** Which database a connector URL points at, or undefined when the scheme is not supported. */
export function dialectOfUrl(url: string): SqlDialectName | undefined {
  if (url.startsWith("sqlite:")) return "sqlite";
  if (url.startsWith("postgres://") || url.startsWith("postgresql://")) return "postgres";
  if (url.startsWith("mysql://") || url.startsWith("mariadb://")) return "mysql";
  return undefined;
}

const urlSchema = z.string().superRefine((url, ctx) => {
  const dialect = dialectOfUrl(url);
  // Messages never echo the URL: it may carry a password.
  if (dialect === undefined) {
    ctx.addIssue({
      code: "custom",
      message: "must be sqlite:PATH, postgres://…, postgresql://…, mysql://… or mariadb://…",
    });
    return;
  }
  if (dialect === "sqlite") {
    if (url.length === "sqlite:".length)
      ctx.addIssue({ code: "custom", message: "sqlite: needs a file path" });
    return;
  }
  const parsed = parseServerUrl(url, ctx);
  if (parsed !== undefined && dialect === "mysql" && parsed.search !== "") {
    ctx.addIssue({ code: "custom", message: "query parameters are not supported in mysql:// URLs" });
  }
});

export const sqlConnectorConfigSchema = z.strictObject({
  /**
   * `sqlite:PATH` (the file must exist), `postgres://user:pass@host:5432/db` (query parameters such as
   * `sslmode` are passed to node-postgres) or `mysql://user:pass@host:3306/db` / `mariadb://…`.
   */
  url: secret(urlSchema),
  /** PostgreSQL schema (or MySQL database, SQLite attached database) the tables live in. */
  schema: identifier.optional(),
  /** Connect timeout, and on SQLite how long to wait for a lock, in milliseconds. */
  timeoutMs: z.number().int().positive().default(10_000),
  users: z.strictObject({
    table: identifier,
    /** The column whose value is the account's native id. */
    id: identifier,
    username: identifier,
    /**
     * How a new row gets its id: `database` (auto-increment, serial, a default or a trigger; read back
     * after the insert) or `uuid` (Tenure generates a random UUID and inserts it).
     */
    newId: z.enum(["database", "uuid"]).default("database"),
    /** The column that says whether the account may be used; enabled when it holds the `true` value. */
    enabled: z.strictObject({
      column: identifier,
      true: flagValue.default(1),
      false: flagValue.default(0),
    }),
    /** Tenure attribute name → column. Only these attributes can be read and written. */
    attributes: z.record(z.string().min(1), identifier).default({}),
    /** A column holding the account's last use (timestamp or ISO-8601 text), read only. */
    lastUsedAt: identifier.optional(),
  }),
  memberships: z.strictObject({
    table: identifier,
    /** The column referencing the user: its id or its username (see `userRef`). */
    user: identifier,
    userRef: z.enum(["id", "username"]).default("id"),
    /** The column holding the entitlement key (group or role name). */
    group: identifier,
  }),
  /** Where `listEntitlements` reads from; without it, the distinct groups of the memberships table. */
  groups: z
    .strictObject({
      table: identifier,
      key: identifier,
      displayName: identifier.optional(),
    })
    .optional(),
});

/** The parsed configuration of one `sql` system (defaults applied). */
export type SqlConnectorConfig = z.output<typeof sqlConnectorConfigSchema>;
/** The configuration as written in tenure.yaml, before defaults. */
export type SqlConnectorConfigInput = z.input<typeof sqlConnectorConfigSchema>;

/**
 * Parses the `sql` configuration of one system, frozen.
 * @throws InvalidInputError naming `systems.<system>.<path>` for every problem; never echoes the URL.
 */
export function parseSqlConnectorConfig(system: string, raw: unknown): SqlConnectorConfig {
  return parseConnectorConfig("sql", sqlConnectorConfigSchema, system, raw);
}
