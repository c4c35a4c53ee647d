import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { connectorPool } from "../../engine/provision.js";
import type { PushSourceConfig, TenureConfig } from "../../policy/config-types.js";
import type { ScimResourceRecord, ScimResourceType } from "../../store/scim-resource-repository.js";
import type { RouteDeps, RouteModule } from "../route-types.js";
import { createIngestPerson } from "./scim-ingest.js";
import { type Json, type Projection, parseAttributeList, project } from "./scim-resource-shape.js";
import { ScimError, toScimError } from "./scim-server-errors.js";
import {
  GROUP_RESOURCE,
  LIST_RESPONSE_SCHEMA,
  RESOURCE_TYPE_SCHEMA,
  RESOURCE_TYPES,
  type ResourceTypeDefinition,
  SCHEMA_SCHEMA,
  SCHEMAS,
  SERVICE_PROVIDER_CONFIG_SCHEMA,
  USER_RESOURCE,
} from "./scim-server-schemas.js";
import { createScimService, etagMatches, etagOf, type ScimService, served } from "./scim-service.js";

export const SCIM_PREFIX = "/scim/v2";
const CONTENT_TYPE = "application/scim+json; charset=utf-8";
/** Page size when a client gives no `count`, and the most one page holds (ServiceProviderConfig says so). */
const DEFAULT_COUNT = 100;
const MAX_COUNT = 1000;

/** The push source SCIM writes to, checked at start-up so a wrong name stops `tenure serve` at once. */
export function scimSource(config: TenureConfig): PushSourceConfig {
  const scim = config.server.scim!;
  const source = Object.hasOwn(config.sources, scim.source) ? config.sources[scim.source] : undefined;
  if (source?.type !== "push") {
    throw new Error(
      `server.scim.source: "${scim.source}" is not a source of type push; SCIM Users are records of a push source (sources.${scim.source}: { type: push })`,
    );
  }
  return source;
}

function baseUrl(request: FastifyRequest): string {
  return `${request.protocol}://${request.host}${SCIM_PREFIX}`;
}

function send(reply: FastifyReply, status: number, body: unknown): FastifyReply {
  return reply.code(status).header("content-type", CONTENT_TYPE).send(body);
}

function withLocation(request: FastifyRequest, type: ResourceTypeDefinition, resource: Json): Json {
  const meta = {
    ...(resource.meta as Json),
    location: `${baseUrl(request)}${type.endpoint}/${String(resource.id)}`,
  };
  return { ...resource, meta };
}

type Query = Record<string, string | string[] | undefined>;

/** A query parameter given at most once. */
function param(query: Query, name: string): string | undefined {
  const value = query[name];
  if (Array.isArray(value)) throw new ScimError(400, `${name}: give it once`, "invalidValue");
  return value;
}

/**
 * A path and its lower-case twin: SCIM clients differ in the case of endpoint names (the reference
 * collection asks for `/users`), and fastify's router, shared with the API, is case-sensitive.
 */
function spellings(path: string): string[] {
  const lower = path.toLowerCase();
  return lower === path ? [path] : [path, lower];
}

function whole(query: Query, name: string, fallback: number): number {
  const raw = param(query, name);
  if (raw === undefined || raw === "") return fallback;
  if (!/^-?\d+$/.test(raw.trim()))
    throw new ScimError(400, `${name}: expected a whole number`, "invalidValue");
  return Number(raw);
}

function projectionOf(query: Query): Projection {
  const attributes = parseAttributeList(param(query, "attributes"));
  const excludedAttributes = parseAttributeList(param(query, "excludedAttributes"));
  return {
    ...(attributes !== undefined ? { attributes } : {}),
    ...(excludedAttributes !== undefined ? { excludedAttributes } : {}),
  };
}

function listResponse(resources: readonly unknown[], total: number, startIndex: number) {
  return {
    schemas: [LIST_RESPONSE_SCHEMA],
    totalResults: total,
    startIndex,
    itemsPerPage: resources.length,
    Resources: resources,
  };
}

function serviceProviderConfig(request: FastifyRequest, bodyLimit: number) {
  return {
    schemas: [SERVICE_PROVIDER_CONFIG_SCHEMA],
    patch: { supported: true },
    bulk: { supported: false, maxOperations: 0, maxPayloadSize: 0 },
    filter: { supported: true, maxResults: MAX_COUNT },
    changePassword: { supported: false },
    sort: { supported: true },
    etag: { supported: true },
    authenticationSchemes: [
      {
        type: "oauthbearertoken",
        name: "Bearer token",
        description: `A Tenure API token of role hr-source (or admin), made with \`tenure token create\`; at most ${bodyLimit} bytes per request body`,
        primary: true,
      },
    ],
    meta: { resourceType: "ServiceProviderConfig", location: `${baseUrl(request)}/ServiceProviderConfig` },
  };
}

function resourceTypeDocument(request: FastifyRequest, type: ResourceTypeDefinition) {
  return {
    schemas: [RESOURCE_TYPE_SCHEMA],
    id: type.name,
    name: type.name,
    endpoint: type.endpoint,
    description: type.description,
    schema: type.core.id,
    schemaExtensions: type.extensions.map((e) => ({ schema: e.id, required: false })),
    meta: { resourceType: "ResourceType", location: `${baseUrl(request)}/ResourceTypes/${type.name}` },
  };
}

function schemaDocument(request: FastifyRequest, schema: (typeof SCHEMAS)[number]) {
  return {
    schemas: [SCHEMA_SCHEMA],
    ...schema,
    meta: { resourceType: "Schema", location: `${baseUrl(request)}/Schemas/${schema.id}` },
  };
}

/** A discovery endpoint: the list of what it describes, and each by its id (case-insensitively). */
function catalogueRoutes<T>(
  scim: FastifyInstance,
  endpoint: string,
  items: readonly T[],
  idOf: (item: T) => string,
  document: (request: FastifyRequest, item: T) => Json,
): void {
  const guard = { permission: "sources:push" } as const;
  for (const path of spellings(endpoint)) {
    scim.get(path, { config: guard }, async (request, reply) => {
      const all = items.map((item) => document(request, item));
      return send(reply, 200, listResponse(all, all.length, 1));
    });
    scim.get(`${path}/:id`, { config: guard }, async (request, reply) => {
      const { id } = request.params as { id: string };
      const item = items.find((i) => idOf(i).toLowerCase() === id.toLowerCase());
      if (item === undefined) {
        throw new ScimError(
          404,
          `no ${endpoint.slice(1)} entry "${id}"; there are ${items.map(idOf).join(", ")}`,
        );
      }
      return send(reply, 200, document(request, item));
    });
  }
}

/** The routes of one resource type: list, create, read, replace, patch, delete. */
function resourceRoutes(scim: FastifyInstance, service: ScimService, type: ResourceTypeDefinition): void {
  const name = type.name as ScimResourceType;
  const guard = { permission: "sources:push" } as const;
  const actor = (request: FastifyRequest) => request.principal?.actor ?? "scim";
  const context = (request: FastifyRequest) => {
    const ifMatch = request.headers["if-match"];
    return {
      actor: actor(request),
      ...(typeof ifMatch === "string" ? { ifMatch } : {}),
      onIgnored: (names: string[]) =>
        request.log.info({ ignored: names }, `SCIM ${name}: left out attributes no schema defines`),
    };
  };
  const one = (request: FastifyRequest, reply: FastifyReply, record: ScimResourceRecord, status: number) => {
    const resource = project(
      withLocation(request, type, served(record)),
      type,
      projectionOf(request.query as Query),
    );
    reply.header("etag", etagOf(record.version));
    if (status === 201)
      reply.header(
        "location",
        (resource.meta as Json | undefined)?.location ?? `${baseUrl(request)}${type.endpoint}/${record.id}`,
      );
    return send(reply, status, resource);
  };

  const list = async (request: FastifyRequest, reply: FastifyReply) => {
    const query = request.query as Query;
    const startIndex = Math.max(whole(query, "startIndex", 1), 1);
    const count = Math.min(Math.max(whole(query, "count", DEFAULT_COUNT), 0), MAX_COUNT);
    const sortOrder = param(query, "sortOrder")?.toLowerCase();
    if (sortOrder !== undefined && sortOrder !== "ascending" && sortOrder !== "descending") {
      throw new ScimError(400, "sortOrder: expected ascending or descending", "invalidValue");
    }
    const filter = param(query, "filter");
    const sortBy = param(query, "sortBy");
    const page = await service.list(name, {
      ...(filter !== undefined ? { filter } : {}),
      ...(sortBy !== undefined && sortBy !== "" ? { sortBy } : {}),
      descending: sortOrder === "descending",
      startIndex,
      count,
    });
    const projection = projectionOf(query);
    const resources = page.records.map((r) => project(withLocation(request, type, r), type, projection));
    return send(reply, 200, listResponse(resources, page.total, startIndex));
  };
  const item = (path: string) => {
    scim.get(path, { config: guard }, async (request, reply) => {
      const { id } = request.params as { id: string };
      const record = await service.get(name, id);
      const ifNoneMatch = request.headers["if-none-match"];
      if (typeof ifNoneMatch === "string" && etagMatches(ifNoneMatch, record.version)) {
        return reply.code(304).header("etag", etagOf(record.version)).send();
      }
      return one(request, reply, record, 200);
    });
    scim.put(path, { config: guard }, async (request, reply) => {
      const { id } = request.params as { id: string };
      return one(request, reply, await service.replace(name, id, request.body, context(request)), 200);
    });
    scim.patch(path, { config: guard }, async (request, reply) => {
      const { id } = request.params as { id: string };
      const record = await service.patch(name, id, request.body, context(request));
      const query = request.query as Query;
      // RFC 7644 §3.5.2: 204 is allowed, and what Entra ID's collection expects; asking for attributes
      // (or excludedAttributes) gets the resource with 200, as the RFC requires.
      if (query.attributes === undefined && query.excludedAttributes === undefined) {
        return reply.code(204).header("etag", etagOf(record.version)).send();
      }
      return one(request, reply, record, 200);
    });
    scim.delete(path, { config: guard }, async (request, reply) => {
      const { id } = request.params as { id: string };
      await service.remove(name, id, context(request));
      return reply.code(204).send();
    });
  };

  for (const endpoint of spellings(type.endpoint)) {
    // `/Users/` as well: the reference collection asks `GET /Users/?filter=…`.
    scim.get(endpoint, { config: guard }, list);
    scim.get(`${endpoint}/`, { config: guard }, list);
    scim.post(endpoint, { config: guard }, async (request, reply) =>
      one(request, reply, await service.create(name, request.body, context(request)), 201),
    );
    item(`${endpoint}/:id`);
  }
}

/**
 * Tenure's SCIM 2.0 server (RFC 7643/7644) at /scim/v2, for HR systems and identity providers (Entra ID,
 * Okta) pushing people: discovery (ServiceProviderConfig, ResourceTypes, Schemas), Users and Groups
 * with filters, paging, sorting, attribute selection, PUT, PATCH, DELETE and ETags. Served only when
 * `server.scim` names a push source. application/scim+json in and out; every error, authentication
 * refusals included, in the RFC 7644 error body. Every route needs a token holding `sources:push`
 * (roles hr-source and admin). docs/scim.md is the guide.
 */
export const scimRoutes: RouteModule = async (app, deps: RouteDeps) => {
  const settings = deps.config.server.scim;
  if (settings === undefined) return;
  const source = scimSource(deps.config);
  // Kept open across pushes, so a leaver's disable pays no connection set-up; closed with the server.
  const connectors = connectorPool(deps.config);
  app.addHook("onClose", () => connectors.closeAll());
  const service = createScimService({
    store: deps.store,
    now: deps.now,
    ingest: createIngestPerson(deps.store, deps.config, source, connectors),
    settings: {
      key: settings.key,
      source: source.name,
      keyAttribute: source.key,
      timeZone: source.timeZone,
      pushConcurrency: deps.config.server.pushConcurrency,
    },
  });

  await app.register(
    async (scim) => {
      scim.addHook("onRoute", (route) => {
        // SCIM answers are the RFC's, not the API's: no response schemas (the API's error schema would
        // refuse a SCIM error body). /api/openapi.json describes them from the registered routes
        // instead (scim-openapi.ts); the attribute definitions are at /Schemas.
        const { response: _response, ...schema } = (route.schema ?? {}) as Record<string, unknown>;
        route.schema = { ...schema, hide: true };
      });
      // DELETE has no body, but clients (Entra ID, Okta, SDKs) send it with their JSON content type:
      // an empty body is no body there. Everywhere else an empty body stays a 400.
      const json = scim.getDefaultJsonParser("error", "error");
      const parser: typeof json = (request, body, done) =>
        request.method === "DELETE" && body === "" ? done(null, undefined) : json(request, body, done);
      scim.removeContentTypeParser("application/json");
      for (const type of ["application/scim+json", "application/json"]) {
        scim.addContentTypeParser(type, { parseAs: "string" }, parser);
      }
      scim.setErrorHandler((err, request, reply) => {
        const mapped = toScimError(err, request.id);
        if (mapped.internal) request.log.error({ err }, "SCIM request failed");
        else
          request.log.info({ status: mapped.status, scimType: mapped.body.scimType }, "SCIM request refused");
        return send(reply.headers(mapped.headers), mapped.status, mapped.body);
      });
      scim.setNotFoundHandler((request, reply) => {
        const mapped = toScimError(
          new ScimError(404, `no SCIM endpoint ${request.method} ${request.url.split("?")[0]}`),
          request.id,
        );
        return send(reply, 404, mapped.body);
      });

      const guard = { permission: "sources:push" } as const;
      const config = (request: FastifyRequest, reply: FastifyReply) =>
        send(reply, 200, serviceProviderConfig(request, deps.config.server.bodyLimit));
      // `/serviceConfiguration`: the name early Azure AD clients (and the reference collection) ask for.
      for (const path of [...spellings("/ServiceProviderConfig"), ...spellings("/serviceConfiguration")]) {
        scim.get(path, { config: guard }, config);
      }
      catalogueRoutes(scim, "/ResourceTypes", RESOURCE_TYPES, (t) => t.name, resourceTypeDocument);
      catalogueRoutes(scim, "/Schemas", SCHEMAS, (s) => s.id, schemaDocument);

      resourceRoutes(scim, service, USER_RESOURCE);
      resourceRoutes(scim, service, GROUP_RESOURCE);
    },
    { prefix: SCIM_PREFIX },
  );
};
