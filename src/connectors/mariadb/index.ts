export { createMariadbConnector } from "./mariadb-connector.js";
export {
  type MariadbConnectorConfig,
  type MariadbConnectorConfigInput,
  mariadbConnectorConfigSchema,
  parseMariadbConnectorConfig,
} from "./mariadb-schemas.js";
