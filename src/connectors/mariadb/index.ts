export { createMariadbConnector } from "./mariadb-connector.js";
export { type MariadbConnectorConfig, mariadbConnectorConfigSchema } from "./mariadb-schemas.js";
