export { createPostgresConnector } from "./postgres-connector.js";
export { type PostgresConnectorConfig, postgresConnectorConfigSchema } from "./postgres-schemas.js";
