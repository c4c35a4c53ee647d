import path from "node:path";
import type { z } from "zod";
import type { Connector, ConnectorOptions } from "./connector-types.js";
import { createLdapConnector, type LdapConnectorConfig, ldapConnectorConfigSchema } from "./ldap/index.js";
import {
  createManualConnector,
  type ManualConnectorConfig,
  manualConnectorConfigSchema,
} from "./manual/index.js";
import {
  createMariadbConnector,
  type MariadbConnectorConfig,
  mariadbConnectorConfigSchema,
} from "./mariadb/index.js";
import { type PasswordSink, resolveSinkPath } from "./password-sink.js";
import {
  createPostgresConnector,
  type PostgresConnectorConfig,
  postgresConnectorConfigSchema,
} from "./postgres/index.js";
import { createScimConnector, type ScimConnectorConfig, scimConnectorConfigSchema } from "./scim/index.js";
import { createSqlConnector, type SqlConnectorConfig, sqlConnectorConfigSchema } from "./sql/index.js";
import {
  createWebhookConnector,
  type WebhookConnectorConfig,
  webhookConnectorConfigSchema,
} from "./webhook/index.js";

/**
 * One entry per connector folder: how its config is validated (zod, so `tenure validate` reports
 * file:line for connector config like any other key), how relative paths in it are resolved against
 * the config file's folder, and how an instance is made. A new connector adds one line here.
 */
export interface ConnectorType<C = unknown> {
  schema: z.ZodType<C>;
  resolvePaths(config: C, baseDir: string): C;
  create(system: string, config: C, options?: ConnectorOptions): Connector;
  /**
   * Whether `createMissingGroups: true` can work with this config: true, or why not (the policy loader
   * reports it at the system). Absent: the connector cannot create groups.
   */
  canCreateGroups?(config: C): true | string;
  /**
   * Whether this connector, so configured, generates each new account's password (delivered to its
   * password sink) and can set a new one (`rotateCredential`). The planner then gives a rehire a new
   * password before their old account is enabled again. Absent: it does not.
   */
  setsCredentials?(config: C): boolean;
}

function resolveSqliteUrl(url: string, baseDir: string): string {
  if (!url.startsWith("sqlite:")) return url;
  const file = url.slice("sqlite:".length);
  return file === ":memory:" || path.isAbsolute(file) ? url : `sqlite:${path.resolve(baseDir, file)}`;
}

const sql: ConnectorType<SqlConnectorConfig> = {
  schema: sqlConnectorConfigSchema as unknown as z.ZodType<SqlConnectorConfig>,
  resolvePaths: (config, baseDir) => ({ ...config, url: resolveSqliteUrl(config.url, baseDir) }),
  create: createSqlConnector,
};

/** The CA file and the password sink file (Active Directory) are resolved against the config file's folder. */
const ldap: ConnectorType<LdapConnectorConfig> = {
  schema: ldapConnectorConfigSchema as unknown as z.ZodType<LdapConnectorConfig>,
  resolvePaths: (config, baseDir) => {
    const { tlsCaFile, passwordSink } = config;
    const withCa =
      tlsCaFile === undefined ? config : { ...config, tlsCaFile: path.resolve(baseDir, tlsCaFile) };
    return passwordSink === undefined ? withCa : resolveSink({ ...withCa, passwordSink }, baseDir);
  },
  create: (system, config, options) => createLdapConnector(system, config, undefined, options),
  canCreateGroups: (config) =>
    config.directory !== "activeDirectory" &&
    (config.groups.objectClass === undefined ||
      config.groups.objectClass === "groupOfNames" ||
      config.groups.objectClass === "groupOfUniqueNames")
      ? true
      : "it creates only groupOfNames and groupOfUniqueNames groups (groups.objectClass), not in Active Directory",
  setsCredentials: (config) => config.directory === "activeDirectory",
};

/** A connector config's password sink file, resolved against the config file's folder. */
function resolveSink<C extends { passwordSink: PasswordSink }>(config: C, baseDir: string): C {
  return {
    ...config,
    passwordSink: resolveSinkPath(config.passwordSink, (file) => path.resolve(baseDir, file)),
  };
}

const mariadb: ConnectorType<MariadbConnectorConfig> = {
  schema: mariadbConnectorConfigSchema as unknown as z.ZodType<MariadbConnectorConfig>,
  resolvePaths: resolveSink,
  create: createMariadbConnector,
  setsCredentials: () => true,
};

const postgres: ConnectorType<PostgresConnectorConfig> = {
  schema: postgresConnectorConfigSchema as unknown as z.ZodType<PostgresConnectorConfig>,
  resolvePaths: resolveSink,
  create: createPostgresConnector,
  setsCredentials: () => true,
};

/** A SCIM config holds a URL and credentials, never file paths. */
const scim: ConnectorType<ScimConnectorConfig> = {
  schema: scimConnectorConfigSchema as unknown as z.ZodType<ScimConnectorConfig>,
  resolvePaths: (config) => config,
  create: (system, config, options) => createScimConnector(system, config, undefined, options),
  canCreateGroups: (config) =>
    config.groups.key === "displayName"
      ? true
      : "with groups.key: id a group it created could not be found by the key a grant names",
};

/** A webhook config holds URLs, never file paths. */
const webhook: ConnectorType<WebhookConnectorConfig> = {
  schema: webhookConnectorConfigSchema as unknown as z.ZodType<WebhookConnectorConfig>,
  resolvePaths: (config) => config,
  create: createWebhookConnector,
};

/** A manual config holds an application URL for people to follow, never file paths. */
const manual: ConnectorType<ManualConnectorConfig> = {
  schema: manualConnectorConfigSchema as unknown as z.ZodType<ManualConnectorConfig>,
  resolvePaths: (config) => config,
  create: createManualConnector,
};

export const CONNECTOR_TYPES: Readonly<Record<string, ConnectorType<never>>> = {
  ldap: ldap as unknown as ConnectorType<never>,
  manual: manual as unknown as ConnectorType<never>,
  mariadb: mariadb as unknown as ConnectorType<never>,
  postgres: postgres as unknown as ConnectorType<never>,
  scim: scim as unknown as ConnectorType<never>,
  sql: sql as unknown as ConnectorType<never>,
  webhook: webhook as unknown as ConnectorType<never>,
};

/** Makes the connector of a configured system. The config must have been validated by the loader. */
export function createConnector(
  system: string,
  type: string,
  config: unknown,
  options: ConnectorOptions = {},
): Connector {
  const entry = CONNECTOR_TYPES[type] as ConnectorType<unknown> | undefined;
  if (entry === undefined) throw new Error(`system ${system}: unknown connector type "${type}"`);
  return entry.create(system, config, options);
}
