export {
  CORE_USER_SCHEMA,
  ENTERPRISE_USER_SCHEMA,
  parseScimPath,
  readScimPath,
  type ScimPath,
  writeScimPath,
} from "./scim-attributes.js";
export { createScimConnector } from "./scim-connector.js";
export { eqFilter, widerFilter } from "./scim-filter.js";
export { createRateLimiter, type RateLimiter } from "./scim-rate-limiter.js";
export {
  parseScimConnectorConfig,
  type ScimConnectorConfig,
  type ScimConnectorConfigInput,
  scimConnectorConfigSchema,
} from "./scim-schemas.js";
