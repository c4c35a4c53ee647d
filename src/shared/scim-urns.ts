// The SCIM 2.0 schema and message URNs (RFC 7643, RFC 7644), the one list the SCIM server (api/scim)
// and the SCIM connector (connectors/scim) both use.

export const USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User";
export const GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group";
export const ENTERPRISE_USER_SCHEMA = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
/**
 * Tenure's extension: the HR dates a lifecycle needs that no standard schema has. Named in the form
 * Entra ID's attribute editor requires for custom attributes (`urn:ietf:params:scim:schemas:extension:
 * NAME:2.0:User`).
 */
export const TENURE_USER_SCHEMA = "urn:ietf:params:scim:schemas:extension:tenure:2.0:User";
export const LIST_RESPONSE_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
export const PATCH_OP_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
export const ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error";
export const SCHEMA_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Schema";
export const RESOURCE_TYPE_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";
export const SERVICE_PROVIDER_CONFIG_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";
