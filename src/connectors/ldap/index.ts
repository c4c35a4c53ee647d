export { createLdapConnector } from "./ldap-connector.js";
export { type LdapConnectorConfig, ldapConnectorConfigSchema } from "./ldap-schemas.js";
