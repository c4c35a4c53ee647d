export {
  createLdapConnector,
  type LdapClient,
  type LdapConnectorDeps,
  PASSWORD_ATTRIBUTE,
} from "./ldap-connector.js";
export { escapeDnValue, escapeFilterValue } from "./ldap-escape.js";
export {
  type LdapConnectorConfig,
  type LdapConnectorConfigInput,
  ldapConnectorConfigSchema,
  parseLdapConnectorConfig,
} from "./ldap-schemas.js";
