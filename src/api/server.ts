import { randomUUID } from "node:crypto";
import cookie from "@fastify/cookie";
import helmet from "@fastify/helmet";
import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyRequest,
  type RouteOptions,
} from "fastify";
import {
  jsonSchemaTransform,
  jsonSchemaTransformObject,
  serializerCompiler,
  validatorCompiler,
} from "fastify-type-provider-zod";
import pino, { type DestinationStream, type LevelWithSilent } from "pino";
import { referencedSecrets } from "../policy/config-redaction.js";
import type { TenureConfig } from "../policy/config-types.js";
import { maskKnownSecrets } from "../shared/redact.js";
import { currentTraceId, withTraceId } from "../shared/trace-context.js";
import type { Store } from "../store/database.js";
import { storeFailure } from "../store/store-errors.js";
import { apiErrorSchema, toApiError } from "./api-errors.js";
import { checkRouteDeclaration, registerAuth } from "./auth/auth-hooks.js";
import { createOidcSignIn } from "./auth/oidc-sign-in.js";
import { createSessionService } from "./auth/session-service.js";
import type { TokenService } from "./auth/token-service.js";
import { registerConsole } from "./console-static.js";
import { createServerMetrics } from "./metrics/server-metrics.js";
import type { RouteDeps, RouteModule } from "./route-types.js";
import { API_ROUTE_MODULES } from "./routes/index.js";
import { cookieSigningSecret } from "./routes/session-routes.js";
import { createRunGuard } from "./run-guard.js";
import { type OpenApiParts, type ScimRoute, withScimOperations } from "./scim/scim-openapi.js";
import { SCIM_PREFIX } from "./scim/scim-routes.js";
import { incomingTraceId } from "./trace-header.js";

export interface ApiDeps {
  store: Store;
  config: TenureConfig;
  tokens: Pick<TokenService, "authenticate">;
  now: () => Date;
  /** Where the JSON log lines go (default stdout); tests pass a stream to read them. */
  logStream?: DestinationStream;
  /** Default `info`. */
  logLevel?: LevelWithSilent;
  /** The route modules to serve; default every module in src/api/routes/index.ts. */
  routes?: readonly RouteModule[];
  /** Where the built console is (index.html and assets/); default dist/web. */
  consoleDir?: string;
}

/** One registered route, for the auth matrix and the OpenAPI test: what it is and who may call it. */
export interface RouteEntry {
  method: string;
  url: string;
  permission: string | null;
  public: boolean;
}

declare module "fastify" {
  interface FastifyInstance {
    /** Every route registered (HEAD twins left out), in registration order. */
    routeCatalogue(): RouteEntry[];
  }
}

/** What never reaches a log line: credentials in headers, and any field named like a secret. */
export const LOG_REDACTIONS = [
  "req.headers.authorization",
  "req.headers.cookie",
  'req.headers["x-api-key"]',
  'res.headers["set-cookie"]',
  "*.authorization",
  "*.password",
  "*.token",
  "*.secret",
  "*.*.password",
  "*.*.token",
  "*.*.secret",
];

const SECRET_QUERY = /([?&][^=&#]*(?:token|pass|secret|key|auth)[^=&#]*=)[^&#]*/gi;

function requestLog(req: FastifyRequest) {
  return {
    method: req.method,
    // A secret someone put in a query string stays out of the log.
    url: req.url.replace(SECRET_QUERY, "$1[redacted]"),
    remoteAddress: req.ip,
  };
}

/**
 * Builds the HTTP API (not listening): JSON in and out, validated by zod schemas that also produce
 * the OpenAPI 3.1 document at /api/openapi.json and the docs page at /api/docs; bearer-token
 * authentication with platform roles; security headers on every response; structured pino logs with
 * request ids and no secrets; one error shape (src/api/api-errors.ts).
 *
 * The routes are the modules in src/api/routes/index.ts. Each route must declare who may call it: a
 * route that does not makes `ready()` (and so `listen()`) fail.
 */
export async function buildServer(deps: ApiDeps): Promise<FastifyInstance> {
  const { config } = deps;
  const logger = pino(
    {
      level: deps.logLevel ?? "info",
      redact: { paths: LOG_REDACTIONS, censor: "[redacted]" },
      serializers: { req: requestLog },
      // A line written while a request (or a CLI run, a scheduled run) is in progress names its trace.
      mixin: () => {
        const traceId = currentTraceId();
        return traceId === null ? {} : { traceId };
      },
    },
    deps.logStream ?? pino.destination(1),
  );
  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    bodyLimit: config.server.bodyLimit,
    trustProxy: config.server.trustProxy,
    // A caller's own X-Request-Id (or traceparent trace id) is kept when it is sane, so its logs and
    // ours line up; it is also the trace id of the operations the request queues.
    genReqId: (req) => incomingTraceId(req.headers) ?? randomUUID(),
    return503OnClosing: true,
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  // JSON only: a text/plain body would otherwise reach the schema as a string.
  app.removeContentTypeParser("text/plain");

  const catalogue: RouteOptions[] = [];
  const scimRoutes: ScimRoute[] = [];
  app.addHook("onRoute", (route) => {
    catalogue.push(route);
    if (route.url.startsWith(SCIM_PREFIX)) {
      for (const method of [route.method].flat()) {
        if (method !== "HEAD") scimRoutes.push({ method: String(method), url: route.url });
      }
    }
  });
  app.decorate("routeCatalogue", () =>
    catalogue.flatMap((r) =>
      (Array.isArray(r.method) ? r.method : [r.method])
        .filter((method) => method !== "HEAD")
        .map((method) => ({
          method: String(method),
          url: r.url,
          permission: (r.config?.permission as string | undefined) ?? null,
          public: r.config?.public === true,
        })),
    ),
  );

  app.setErrorHandler((err, request, reply) => {
    // A failure of the store itself (busy, damaged, full) is said in one line naming it (docs/architecture.md "Errors").
    const mapped = toApiError(storeFailure(err, deps.store.describe) ?? err, request.id);
    if (mapped.internal) request.log.error({ err }, "request failed");
    else request.log.info({ status: mapped.status, code: mapped.body.error.code }, "request refused");
    return reply.code(mapped.status).headers(mapped.headers).send(mapped.body);
  });
  app.setNotFoundHandler((request, reply) => {
    const page = app.consolePage(request.url, request.method);
    if (page !== null) return reply.code(200).type("text/html; charset=utf-8").send(page);
    return reply.code(404).send({
      error: {
        code: "not_found",
        message: `no route ${request.method} ${request.url.split("?")[0]}`,
        details: [],
      },
    });
  });
  const metrics = createServerMetrics();
  app.addHook("onResponse", async (request, reply) => {
    // The route's pattern, not its URL: ids in the label would make a series per identity.
    metrics.observeRequest(
      request.method,
      request.routeOptions.url ?? "unmatched",
      reply.statusCode,
      reply.elapsedTime / 1000,
    );
  });
  // The request's work runs under its id: operations it queues store it, log lines carry it.
  app.addHook("onRequest", (request, _reply, done) => withTraceId(request.id, done));
  app.addHook("onRequest", async (request, reply) => {
    reply.header("x-request-id", request.id);
    // API answers hold personal data: no cache keeps them.
    reply.header("cache-control", "no-store");
  });

  // No answer carries a value that came from a `${env:…}` / `${file:…}` reference, whichever route
  // or connector message it found its way into (a token in a webhook URL, a password in an error).
  const secrets = referencedSecrets(config);
  if (secrets.length > 0) {
    app.addHook("onSend", async (_request, _reply, payload) =>
      typeof payload === "string" ? maskKnownSecrets(payload, secrets) : payload,
    );
  }

  await app.register(helmet, { global: true });
  await app.register(cookie, { secret: cookieSigningSecret() });
  const sessions = createSessionService({
    db: deps.store.db,
    now: deps.now,
    sessionHours: config.server.console.sessionHours,
  });
  await registerAuth(app, {
    tokens: deps.tokens,
    sessions,
    failuresPerMinute: config.server.authFailuresPerMinute,
  });
  await app.register(swagger, {
    openapi: {
      openapi: "3.1.0",
      info: {
        title: "Tenure API",
        version: "0.1.0",
        description:
          "Identities, systems, operations, plans, runs and the audit ledger of a Tenure installation. " +
          "Every route but health, ready and this document needs `Authorization: Bearer <token>` " +
          "(create one with `tenure token create`). Errors have one shape: `{ error: { code, message, details } }`.",
      },
      components: { securitySchemes: { bearerAuth: { type: "http", scheme: "bearer" } } },
    },
    transform: jsonSchemaTransform,
    // The SCIM routes are described from the routes registered (scim/scim-openapi.ts).
    transformObject: (input) =>
      withScimOperations(
        jsonSchemaTransformObject(input) as ReturnType<typeof jsonSchemaTransformObject> & OpenApiParts,
        scimRoutes,
        SCIM_PREFIX,
      ),
  });
  await app.register(async (docs) => {
    // The docs page's own routes (HTML, scripts, styles) are public, like the document it shows.
    docs.addHook("onRoute", (route) => {
      route.config = { ...route.config, public: true };
    });
    await docs.register(swaggerUi, { routePrefix: "/api/docs" });
  });

  const oidcSettings = config.server.console.oidc;
  const routeDeps: RouteDeps = {
    store: deps.store,
    config,
    now: deps.now,
    runs: createRunGuard(),
    tokens: deps.tokens,
    sessions,
    oidc: oidcSettings === undefined ? null : createOidcSignIn(oidcSettings, deps.store.db),
    metrics,
  };
  await app.register(async (api) => {
    api.addHook("onRoute", (route) => {
      checkRouteDeclaration(route);
      route.schema = {
        ...route.schema,
        response: {
          ...(route.schema?.response as object | undefined),
          "4xx": apiErrorSchema,
          "5xx": apiErrorSchema,
        },
      };
    });
    for (const module of deps.routes ?? API_ROUTE_MODULES) await api.register(module, routeDeps);
  });
  await registerConsole(app, deps.consoleDir);
  return app;
}
