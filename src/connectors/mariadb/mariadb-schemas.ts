import { z } from "zod";
import { secret } from "../../shared/secret-field.js";
import { parseConnectorConfig, serverUrlSchema } from "../connector-config.js";
import { passwordSinkSchema } from "../password-sink.js";

/** Users that are never listed or touched, whatever the configuration says. */
export const SYSTEM_USERS: readonly string[] = ["root", "mariadb.sys", "mysql"];

/**
 * A user, host or role name Tenure accepts. MariaDB allows up to 80 characters for user names (128
 * for roles); Tenure keeps to 80 for all of them, and refuses NUL and other control characters, which no
 * sensible account name holds and which C clients would cut or mangle. Quotes and non-ASCII letters are
 * allowed: names are always passed as escaped string literals, never concatenated raw.
 */
export const MAX_NAME_LENGTH = 80;

/** Why a name is refused, or undefined when it is acceptable. */
export function invalidNameReason(name: string): string | undefined {
  if (name.length === 0) return "must not be empty";
  if ([...name].length > MAX_NAME_LENGTH) return `must be at most ${MAX_NAME_LENGTH} characters`;
  if (name.includes("\u0000")) return "must not contain a NUL character";
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
  if (/[\u0001-\u001f\u007f]/.test(name)) return "must not contain control characters";
  return undefined;
}

const name = z.string().superRefine((value, ctx) => {
  const reason = invalidNameReason(value);
  if (reason !== undefined) ctx.addIssue({ code: "custom", message: reason });
});

/** `database.table` or `table`; each part is quoted with mysql2's escapeId. */
const tableName = z
  .string()
  .min(1, "must not be empty")
  .refine((value) => !value.includes("\u0000"), "must not contain a NUL character")
  .refine((value) => value.split(".").length <= 2, "must be TABLE or DATABASE.TABLE");

const urlSchema = serverUrlSchema(["mysql", "mariadb"], { query: false });

export const mariadbConnectorConfigSchema = z.strictObject({
  /** The admin connection: `mysql://admin:pass@host:3306` or `mariadb://…`. */
  url: secret(urlSchema),
  /** The host part of every managed account (`'user'@'host'`). */
  host: name.default("%"),
  /** Only users whose names start with this are listed and managed. */
  usernamePrefix: z.string().optional(),
  /** More user names never listed or touched, besides root, mariadb.sys and mysql. */
  excludeUsers: z.array(z.string()).default([]),
  /** Where generated passwords of new users are delivered. */
  passwordSink: passwordSinkSchema,
  /**
   * A table (created when missing) where the connector keeps account attributes, which MariaDB users
   * do not have. Without it, attributes cannot be written.
   */
  attributeTable: tableName.optional(),
  /** Connect timeout in milliseconds. */
  timeoutMs: z.number().int().positive().default(10_000),
});

/** The parsed configuration of one `mariadb` system (defaults applied). */
export type MariadbConnectorConfig = z.output<typeof mariadbConnectorConfigSchema>;
/** The configuration as written in tenure.yaml, before defaults. */
export type MariadbConnectorConfigInput = z.input<typeof mariadbConnectorConfigSchema>;

/**
 * Parses the `mariadb` configuration of one system, frozen.
 * @throws InvalidInputError naming `systems.<system>.<path>` for every problem; never echoes the URL.
 */
export function parseMariadbConnectorConfig(system: string, raw: unknown): MariadbConnectorConfig {
  return parseConnectorConfig("mariadb", mariadbConnectorConfigSchema, system, raw);
}
