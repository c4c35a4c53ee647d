/**
 * The SCIM schemas Tenure's server serves (RFC 7643 §4 and §8.7): User, the Enterprise User extension,
 * Group, and Tenure's own User extension for HR dates. Written once as RFC 7643 §7 schema
 * representations: `GET /Schemas` serves them as they are, and the same definitions canonicalise and
 * check every resource written (scim-resource-shape.ts), so what the server says it accepts and what
 * it accepts cannot drift apart.
 */

export {
  ENTERPRISE_USER_SCHEMA,
  ERROR_SCHEMA,
  LIST_RESPONSE_SCHEMA,
  PATCH_OP_SCHEMA,
  RESOURCE_TYPE_SCHEMA,
  SCHEMA_SCHEMA,
  SERVICE_PROVIDER_CONFIG_SCHEMA,
  TENURE_USER_SCHEMA,
  USER_SCHEMA,
} from "../../shared/scim-urns.js";

import {
  ENTERPRISE_USER_SCHEMA,
  GROUP_SCHEMA,
  TENURE_USER_SCHEMA,
  USER_SCHEMA,
} from "../../shared/scim-urns.js";

export type AttributeType =
  | "string"
  | "boolean"
  | "decimal"
  | "integer"
  | "dateTime"
  | "reference"
  | "binary"
  | "complex";
export type Mutability = "readOnly" | "readWrite" | "immutable" | "writeOnly";
export type Returned = "always" | "never" | "default" | "request";

/** One attribute as RFC 7643 §7 describes it. */
export interface AttributeDefinition {
  name: string;
  type: AttributeType;
  multiValued: boolean;
  description: string;
  required: boolean;
  caseExact: boolean;
  mutability: Mutability;
  returned: Returned;
  uniqueness: "none" | "server" | "global";
  canonicalValues?: readonly string[];
  referenceTypes?: readonly string[];
  subAttributes?: readonly AttributeDefinition[];
}

/** A schema as `GET /Schemas/{id}` serves it (without `meta`, added when served). */
export interface SchemaDefinition {
  id: string;
  name: string;
  description: string;
  attributes: readonly AttributeDefinition[];
}

type Options = Partial<Omit<AttributeDefinition, "name" | "type" | "description">>;

function attribute(name: string, type: AttributeType, description: string, options: Options = {}) {
  const definition: AttributeDefinition = {
    name,
    type,
    multiValued: false,
    description,
    required: false,
    caseExact: false,
    mutability: "readWrite",
    returned: "default",
    uniqueness: "none",
    ...options,
  };
  return definition;
}

const text = (name: string, description: string, options: Options = {}) =>
  attribute(name, "string", description, options);

/** `type`, `primary`, `display` and `value`, as every multi-valued attribute of RFC 7643 §2.4 has. */
function multiValued(
  name: string,
  description: string,
  valueType: AttributeType,
  types: readonly string[],
  extra: readonly AttributeDefinition[] = [],
): AttributeDefinition {
  return attribute(name, "complex", description, {
    multiValued: true,
    subAttributes: [
      attribute("value", valueType, `The value of the ${name} item.`),
      text("display", "A human-readable name, primarily used for display purposes.", {
        mutability: "readWrite",
      }),
      text("type", "A label indicating the attribute's function.", { canonicalValues: types }),
      attribute("primary", "boolean", "Whether this is the primary value of the attribute."),
      ...extra,
    ],
  });
}

const ref = (name: string, referenceTypes: readonly string[], description: string, options: Options = {}) =>
  attribute(name, "reference", description, { referenceTypes, ...options });

export const USER_SCHEMA_DEFINITION: SchemaDefinition = {
  id: USER_SCHEMA,
  name: "User",
  description: "User Account",
  attributes: [
    text("userName", "Unique identifier for the User, typically used by the user to directly authenticate.", {
      required: true,
      uniqueness: "server",
    }),
    attribute("name", "complex", "The components of the user's real name.", {
      subAttributes: [
        text("formatted", "The full name, formatted for display."),
        text("familyName", "The family name of the User (Tenure: familyName)."),
        text("givenName", "The given name of the User (Tenure: givenName)."),
        text("middleName", "The middle name(s) of the User."),
        text("honorificPrefix", "The honorific prefix(es) of the User."),
        text("honorificSuffix", "The honorific suffix(es) of the User."),
      ],
    }),
    text("displayName", "The name of the User, suitable for display (Tenure: displayName)."),
    text("nickName", "The casual way to address the user."),
    ref("profileUrl", ["external"], "A URI of the User's online profile."),
    text("title", 'The user\'s title, such as "Vice President" (Tenure: title).'),
    text("userType", "The relationship between the organisation and the user (Tenure: employmentType)."),
    text("preferredLanguage", "The User's preferred written or spoken language."),
    text("locale", "The User's default location for localisation."),
    text("timezone", "The User's time zone in IANA format."),
    attribute(
      "active",
      "boolean",
      "The User's administrative status; false makes the person a leaver in Tenure.",
    ),
    text("password", "Accepted and never stored or returned: Tenure holds no user passwords.", {
      mutability: "writeOnly",
      returned: "never",
    }),
    multiValued(
      "emails",
      "Email addresses for the user (Tenure: email, the primary or else the work one).",
      "string",
      ["work", "home", "other"],
    ),
    multiValued("phoneNumbers", "Phone numbers for the User.", "string", [
      "work",
      "home",
      "mobile",
      "fax",
      "pager",
      "other",
    ]),
    multiValued("ims", "Instant messaging addresses for the User.", "string", [
      "aim",
      "gtalk",
      "icq",
      "xmpp",
      "msn",
      "skype",
      "qq",
      "yahoo",
    ]),
    multiValued("photos", "URLs of photos of the User.", "reference", ["photo", "thumbnail"]),
    attribute(
      "addresses",
      "complex",
      "A physical mailing address for this User (Tenure: location, the locality of the primary or work one).",
      {
        multiValued: true,
        subAttributes: [
          text("formatted", "The full mailing address, formatted for display."),
          text("streetAddress", "The full street address component."),
          text("locality", "The city or locality component."),
          text("region", "The state or region component."),
          text("postalCode", "The zip code or postal code component."),
          text("country", "The country name component."),
          text("type", "A label indicating the attribute's function.", {
            canonicalValues: ["work", "home", "other"],
          }),
          attribute("primary", "boolean", "Whether this is the primary address."),
        ],
      },
    ),
    multiValued("entitlements", "A list of entitlements for the User.", "string", []),
    multiValued("roles", "A list of roles for the User.", "string", []),
    multiValued("x509Certificates", "A list of certificates issued to the User.", "binary", []),
  ],
};

export const ENTERPRISE_USER_SCHEMA_DEFINITION: SchemaDefinition = {
  id: ENTERPRISE_USER_SCHEMA,
  name: "EnterpriseUser",
  description: "Enterprise User",
  attributes: [
    text("employeeNumber", "Numeric or alphanumeric identifier assigned to a person by the organisation."),
    text("costCenter", "Identifies the name of a cost center (Tenure: costCenter)."),
    text("organization", "Identifies the name of an organization."),
    text("division", "Identifies the name of a division."),
    text("department", "Identifies the name of a department (Tenure: department)."),
    attribute("manager", "complex", "The User's manager (Tenure: managerId, the manager's key).", {
      subAttributes: [
        text("value", "The id of the SCIM resource representing the User's manager."),
        ref("$ref", ["User"], "The URI of the SCIM resource representing the User's manager."),
        text("displayName", "The displayName of the User's manager.", { mutability: "readOnly" }),
      ],
    }),
  ],
};

export const TENURE_USER_SCHEMA_DEFINITION: SchemaDefinition = {
  id: TENURE_USER_SCHEMA,
  name: "TenureUser",
  description: "HR dates for Tenure's lifecycle, as calendar dates YYYY-MM-DD in the source's time zone",
  attributes: [
    text("startDate", "First day of work (Tenure: startDate)."),
    text("endDate", "Last day of a fixed-term contract (Tenure: endDate)."),
    text(
      "terminationDate",
      "Leave date (Tenure: terminationDate); set by Tenure when active becomes false without one.",
    ),
  ],
};

export const GROUP_SCHEMA_DEFINITION: SchemaDefinition = {
  id: GROUP_SCHEMA,
  name: "Group",
  description: "Group",
  attributes: [
    text("displayName", "A human-readable name for the Group.", { required: true, uniqueness: "server" }),
    attribute("members", "complex", "A list of members of the Group.", {
      multiValued: true,
      subAttributes: [
        text("value", "Identifier of the member of this Group.", { mutability: "immutable" }),
        ref("$ref", ["User", "Group"], "The URI of the member.", { mutability: "immutable" }),
        text("display", "A human-readable name of the member.", { mutability: "immutable" }),
        text("type", "The type of the member.", {
          mutability: "immutable",
          canonicalValues: ["User", "Group"],
        }),
      ],
    }),
  ],
};

/** A resource type with the schemas of its resources: the core one and the extensions it may carry. */
export interface ResourceTypeDefinition {
  name: "User" | "Group";
  endpoint: "/Users" | "/Groups";
  description: string;
  core: SchemaDefinition;
  extensions: readonly SchemaDefinition[];
}

export const USER_RESOURCE: ResourceTypeDefinition = {
  name: "User",
  endpoint: "/Users",
  description: "User Account: a person of Tenure's push source",
  core: USER_SCHEMA_DEFINITION,
  extensions: [ENTERPRISE_USER_SCHEMA_DEFINITION, TENURE_USER_SCHEMA_DEFINITION],
};

export const GROUP_RESOURCE: ResourceTypeDefinition = {
  name: "Group",
  endpoint: "/Groups",
  description: "Group",
  core: GROUP_SCHEMA_DEFINITION,
  extensions: [],
};

/** In the order `GET /ResourceTypes` lists them (Entra's reference collection expects Users first). */
export const RESOURCE_TYPES: readonly ResourceTypeDefinition[] = [USER_RESOURCE, GROUP_RESOURCE];

export const SCHEMAS: readonly SchemaDefinition[] = [
  USER_SCHEMA_DEFINITION,
  ENTERPRISE_USER_SCHEMA_DEFINITION,
  TENURE_USER_SCHEMA_DEFINITION,
  GROUP_SCHEMA_DEFINITION,
];

/** `id`, `externalId` and `meta` (RFC 7643 §3.1): every resource has them, whatever its schema. */
export const COMMON_ATTRIBUTES: readonly AttributeDefinition[] = [
  text("id", "Unique identifier for the resource, assigned by Tenure.", {
    caseExact: true,
    mutability: "readOnly",
    returned: "always",
    uniqueness: "server",
  }),
  text("externalId", "An identifier for the resource as defined by the provisioning client.", {
    caseExact: true,
  }),
  attribute("meta", "complex", "Resource metadata.", {
    mutability: "readOnly",
    subAttributes: [
      text("resourceType", "The name of the resource type.", { caseExact: true, mutability: "readOnly" }),
      attribute("created", "dateTime", "When the resource was added.", { mutability: "readOnly" }),
      attribute("lastModified", "dateTime", "When the resource was last changed.", {
        mutability: "readOnly",
      }),
      ref("location", ["uri"], "The URI of the resource.", { mutability: "readOnly" }),
      text("version", "The version (ETag) of the resource.", { caseExact: true, mutability: "readOnly" }),
    ],
  }),
];
