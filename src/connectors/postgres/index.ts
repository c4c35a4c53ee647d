export { ACCOUNT_MARKER, createPostgresConnector } from "./postgres-connector.js";
export {
  type PostgresConnectorConfig,
  type PostgresConnectorConfigInput,
  parsePostgresConnectorConfig,
  postgresConnectorConfigSchema,
} from "./postgres-schemas.js";
export { scramSha256Verifier } from "./postgres-scram.js";
