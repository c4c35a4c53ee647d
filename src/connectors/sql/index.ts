export { createSqlConnector } from "./sql-connector.js";
export {
  parseSqlConnectorConfig,
  type SqlConnectorConfig,
  type SqlConnectorConfigInput,
  sqlConnectorConfigSchema,
} from "./sql-schemas.js";
