export { ENTERPRISE_USER_SCHEMA } from "./scim-attributes.js";
export { createScimConnector } from "./scim-connector.js";
export {
  parseScimConnectorConfig,
  type ScimConnectorConfig,
  type ScimConnectorConfigInput,
  scimConnectorConfigSchema,
} from "./scim-connector-config.js";
