export { createSqlConnector } from "./sql-connector.js";
export { type SqlConnectorConfig, sqlConnectorConfigSchema } from "./sql-schemas.js";
