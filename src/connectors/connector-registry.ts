import path from "node:path";
import type { z } from "zod";
import type { Connector } from "./connector-types.js";
import { createLdapConnector, type LdapConnectorConfig, ldapConnectorConfigSchema } from "./ldap/index.js";
import {
  createMariadbConnector,
  type MariadbConnectorConfig,
  mariadbConnectorConfigSchema,
} from "./mariadb/index.js";
import { resolveSinkPath } from "./password-sink.js";
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
  create(system: string, config: C): Connector;
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

/** An LDAP config holds no file paths (CA files, if ever added, would be resolved here). */
const ldap: ConnectorType<LdapConnectorConfig> = {
  schema: ldapConnectorConfigSchema as unknown as z.ZodType<LdapConnectorConfig>,
  resolvePaths: (config) => config,
  create: createLdapConnector,
};

/** The password sink file is resolved against the config file's folder. */
const mariadb: ConnectorType<MariadbConnectorConfig> = {
  schema: mariadbConnectorConfigSchema as unknown as z.ZodType<MariadbConnectorConfig>,
  resolvePaths: (config, baseDir) => ({
    ...config,
    passwordSink: resolveSinkPath(config.passwordSink, (file) => path.resolve(baseDir, file)),
  }),
  create: createMariadbConnector,
};

/** A webhook config holds URLs, never file paths. */
const webhook: ConnectorType<WebhookConnectorConfig> = {
  schema: webhookConnectorConfigSchema as unknown as z.ZodType<WebhookConnectorConfig>,
  resolvePaths: (config) => config,
  create: createWebhookConnector,
};

export const CONNECTOR_TYPES: Readonly<Record<string, ConnectorType<never>>> = {
  ldap: ldap as unknown as ConnectorType<never>,
  mariadb: mariadb as unknown as ConnectorType<never>,
  sql: sql as unknown as ConnectorType<never>,
  webhook: webhook as unknown as ConnectorType<never>,
};

/** Makes the connector of a configured system. The config must have been validated by the loader. */
export function createConnector(system: string, type: string, config: unknown): Connector {
  const entry = CONNECTOR_TYPES[type] as ConnectorType<unknown> | undefined;
  if (entry === undefined) throw new Error(`system ${system}: unknown connector type "${type}"`);
  return entry.create(system, config);
}
