import {
  ERROR_SCHEMA,
  GROUP_SCHEMA,
  LIST_RESPONSE_SCHEMA,
  PATCH_OP_SCHEMA,
  USER_SCHEMA,
} from "../../shared/scim-urns.js";

/**
 * The SCIM 2.0 routes in the OpenAPI document, so a client can be generated for every route the
 * server has. SCIM answers are the RFC's own (application/scim+json, its error body), so the routes
 * carry no response schema at run time (scim-routes.ts); they are described here instead, from the
 * routes actually registered, and the full attribute definitions stay at GET /Schemas.
 */
export interface ScimRoute {
  method: string;
  url: string;
}

const SCIM_JSON = "application/scim+json";
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const scimContent = (name: string) => ({
  [SCIM_JSON]: { schema: ref(name) },
  "application/json": { schema: ref(name) },
});

const resource = (schemaUrn: string, required: string[], properties: Record<string, object>) => ({
  type: "object",
  required: ["schemas", ...required],
  additionalProperties: true,
  properties: {
    schemas: { type: "array", items: { type: "string" }, examples: [[schemaUrn]] },
    id: { type: "string", readOnly: true },
    externalId: { type: "string" },
    meta: { type: "object", readOnly: true, additionalProperties: true },
    ...properties,
  },
});

/** Components the SCIM operations refer to. */
export const SCIM_COMPONENTS: Record<string, object> = {
  ScimUser: resource(USER_SCHEMA, ["userName"], {
    userName: { type: "string" },
    active: { type: "boolean" },
    name: { type: "object", additionalProperties: true },
    emails: { type: "array", items: { type: "object", additionalProperties: true } },
  }),
  ScimGroup: resource(GROUP_SCHEMA, ["displayName"], {
    displayName: { type: "string" },
    members: { type: "array", items: { type: "object", additionalProperties: true } },
  }),
  ScimListResponse: {
    type: "object",
    required: ["schemas", "totalResults", "Resources"],
    properties: {
      schemas: { type: "array", items: { type: "string" }, examples: [[LIST_RESPONSE_SCHEMA]] },
      totalResults: { type: "integer" },
      startIndex: { type: "integer" },
      itemsPerPage: { type: "integer" },
      Resources: { type: "array", items: { type: "object", additionalProperties: true } },
    },
  },
  ScimPatchOp: {
    type: "object",
    required: ["schemas", "Operations"],
    properties: {
      schemas: { type: "array", items: { type: "string" }, examples: [[PATCH_OP_SCHEMA]] },
      Operations: {
        type: "array",
        items: {
          type: "object",
          required: ["op"],
          properties: { op: { type: "string" }, path: { type: "string" }, value: {} },
        },
      },
    },
  },
  ScimError: {
    type: "object",
    required: ["schemas", "status"],
    properties: {
      schemas: { type: "array", items: { type: "string" }, examples: [[ERROR_SCHEMA]] },
      status: { type: "string" },
      scimType: { type: "string" },
      detail: { type: "string" },
    },
  },
  ScimDocument: { type: "object", additionalProperties: true },
};

/** Which component a path's resources are, from its first segment after the prefix. */
function resourceOf(url: string, prefix: string): { name: string; component: string } {
  const first = url.slice(prefix.length).split("/")[1]?.toLowerCase() ?? "";
  if (first === "users") return { name: "User", component: "ScimUser" };
  if (first === "groups") return { name: "Group", component: "ScimGroup" };
  return { name: url.slice(prefix.length).split("/")[1] ?? "", component: "ScimDocument" };
}

function operationOf(route: ScimRoute, prefix: string): Record<string, unknown> {
  const { name, component } = resourceOf(route.url, prefix);
  const byId = route.url.includes("/:id");
  const collection = component !== "ScimDocument" && !byId;
  const errors = {
    "4XX": { description: "a SCIM error (RFC 7644 §3.12)", content: scimContent("ScimError") },
    "5XX": { description: "a SCIM error (RFC 7644 §3.12)", content: scimContent("ScimError") },
  };
  const op: Record<string, unknown> = {
    tags: ["SCIM"],
    security: [{ bearerAuth: [] }],
    description:
      "SCIM 2.0 (RFC 7644) for HR and IdP push; needs the `sources:push` permission. See docs/scim.md.",
    ...(byId ? { parameters: [{ name: "id", in: "path", required: true, schema: { type: "string" } }] } : {}),
  };
  switch (route.method) {
    case "GET":
      op.summary = collection ? `List or filter ${name}s` : byId ? `Read one ${name}` : `Read ${name}`;
      if (collection) {
        op.parameters = ["filter", "startIndex", "count", "attributes", "excludedAttributes"].map((q) => ({
          name: q,
          in: "query",
          required: false,
          schema: { type: "string" },
        }));
      }
      op.responses = {
        200: { description: "found", content: scimContent(collection ? "ScimListResponse" : component) },
        ...errors,
      };
      break;
    case "POST":
      op.summary = `Create a ${name}`;
      op.requestBody = { required: true, content: scimContent(component) };
      op.responses = { 201: { description: "created", content: scimContent(component) }, ...errors };
      break;
    case "PUT":
      op.summary = `Replace a ${name}`;
      op.requestBody = { required: true, content: scimContent(component) };
      op.responses = { 200: { description: "replaced", content: scimContent(component) }, ...errors };
      break;
    case "PATCH":
      op.summary = `Change a ${name} (PatchOp)`;
      op.requestBody = { required: true, content: scimContent("ScimPatchOp") };
      op.responses = {
        200: { description: "changed", content: scimContent(component) },
        204: { description: "changed" },
        ...errors,
      };
      break;
    case "DELETE":
      op.summary = `Delete a ${name}`;
      op.responses = { 204: { description: "deleted" }, ...errors };
      break;
    default:
      op.summary = `${route.method} ${name}`;
      op.responses = { 200: { description: "answered" }, ...errors };
  }
  return op;
}

/** The parts of an OpenAPI document the SCIM operations are added to. */
export interface OpenApiParts {
  paths?: unknown;
  components?: unknown;
}

/** `doc` with the SCIM routes and their components added. */
export function withScimOperations<T extends OpenApiParts>(
  doc: T,
  routes: readonly ScimRoute[],
  prefix: string,
): T {
  if (routes.length === 0) return doc;
  const paths = { ...(doc.paths ?? {}) } as Record<string, Record<string, unknown>>;
  for (const route of routes) {
    const path = route.url.replace(/:([A-Za-z]+)/g, "{$1}");
    paths[path] = { ...(paths[path] ?? {}), [route.method.toLowerCase()]: operationOf(route, prefix) };
  }
  const components = { ...(doc.components ?? {}) } as { schemas?: Record<string, object> };
  components.schemas = { ...(components.schemas ?? {}), ...SCIM_COMPONENTS };
  return { ...doc, paths, components };
}
