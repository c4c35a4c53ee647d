import { timingSafeEqual } from "node:crypto";
import rateLimit from "@fastify/rate-limit";
import type { FastifyInstance, FastifyRequest, RouteOptions } from "fastify";
import {
  ForbiddenError,
  NoCredentialsError,
  TooManyFailuresError,
  UnauthenticatedError,
} from "./auth-errors.js";
import { PERMISSIONS, type Permission, roleAllows, rolesWith } from "./platform-roles.js";
import { CSRF_HEADER, readSessionCookie } from "./session-cookie.js";
import type { SessionService } from "./session-service.js";
import type { Principal, TokenService } from "./token-service.js";

declare module "fastify" {
  interface FastifyContextConfig {
    /** What a caller's role must allow (src/api/auth/platform-roles.ts). Exactly one of this and `public`. */
    permission?: Permission;
    /** No authentication at all (health probes, the OpenAPI document, the docs page). */
    public?: boolean;
  }
  interface FastifyRequest {
    /** The authenticated caller; null on public routes. */
    principal: Principal | null;
  }
  interface FastifyInstance {
    /**
     * Runs an authentication a public route makes itself (the console's sign-in with a token) under the
     * same limit as every route's: refused with 429 past `failuresPerMinute` failures from the address,
     * and a failure (UnauthenticatedError) counted.
     */
    guardAuthentication<T>(request: FastifyRequest, attempt: () => Promise<T>): Promise<T>;
  }
}

/**
 * Every API route must say who may call it. Called from an `onRoute` hook: a route that declares
 * neither `config.permission` nor `config.public: true` (or both, or an unknown permission) throws, so
 * the server fails at start-up rather than serving an unguarded route. Declared routes also get their
 * OpenAPI security requirement and a sentence naming the roles that may call them.
 */
export function checkRouteDeclaration(route: RouteOptions): void {
  const config = (route.config ?? {}) as { permission?: unknown; public?: unknown };
  const where = `${String(route.method)} ${route.url}`;
  const isPublic = config.public === true;
  if (isPublic && config.permission !== undefined) {
    throw new Error(`route ${where} declares both config.public and config.permission; it must be one`);
  }
  if (isPublic) return;
  if (config.permission === undefined) {
    throw new Error(
      `route ${where} declares neither config.permission nor config.public: every API route must say who may call it`,
    );
  }
  if (!(PERMISSIONS as readonly unknown[]).includes(config.permission)) {
    throw new Error(`route ${where} requires the unknown permission "${String(config.permission)}"`);
  }
  const permission = config.permission as Permission;
  const schema = (route.schema ?? {}) as Record<string, unknown>;
  const who = `Requires a bearer token whose role holds \`${permission}\`: ${rolesWith(permission).join(", ")}.`;
  route.schema = {
    ...schema,
    security: [{ bearerAuth: [] }],
    description: typeof schema.description === "string" ? `${schema.description}\n\n${who}` : who,
  };
}

const BEARER = /^Bearer ([^\s]+)$/i;
const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/**
 * The principal of a request that carries the console's session cookie and no Authorization header.
 * A request that changes something must also carry the session's CSRF token in `x-csrf-token`: a page
 * on another site can make the browser send the cookie, but cannot read the token to send it.
 */
export async function sessionPrincipal(
  request: FastifyRequest,
  sessions: Pick<SessionService, "authenticate">,
): Promise<Principal | null> {
  const cookie = readSessionCookie(request);
  if (cookie === undefined) return null;
  const principal = await sessions.authenticate(cookie);
  if (!SAFE_METHODS.has(request.method)) {
    const sent = request.headers[CSRF_HEADER];
    if (typeof sent !== "string" || !sameSecret(sent, principal.csrfToken)) {
      throw new ForbiddenError(
        `a console request that changes something must carry the session's ${CSRF_HEADER} header; nothing was changed`,
      );
    }
  }
  return principal;
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * Authentication and authorisation for every request, before its body is read: public routes pass;
 * others need `Authorization: Bearer <token>` (401 without, or with a token that is unknown, expired or
 * revoked) whose role allows the route's permission (403 otherwise).
 *
 * Failed authentications are counted per client address with @fastify/rate-limit: after
 * `failuresPerMinute` failures within a minute, every request from that address that needs a token gets
 * 429 until the minute is over — so a guessing client is stopped even before its token is looked up.
 */
export async function registerAuth(
  app: FastifyInstance,
  options: {
    tokens: Pick<TokenService, "authenticate">;
    sessions: Pick<SessionService, "authenticate">;
    failuresPerMinute: number;
  },
): Promise<void> {
  await app.register(rateLimit, { global: false, max: options.failuresPerMinute, timeWindow: 60_000 });
  const failures = app.createRateLimit();
  app.decorate("guardAuthentication", async function guard<
    T,
  >(request: FastifyRequest, attempt: () => Promise<T>) {
    const seen = await failures(request, { increment: false });
    if (!seen.isAllowed && seen.remaining === 0)
      throw new TooManyFailuresError(Math.max(1, seen.ttlInSeconds));
    try {
      return await attempt();
    } catch (err) {
      if (err instanceof UnauthenticatedError && !(err instanceof NoCredentialsError))
        await failures(request);
      throw err;
    }
  });
  app.decorateRequest("principal", null);

  app.addHook("onRequest", async (request) => {
    const config = request.routeOptions.config;
    if (request.is404 || config.public === true) return;
    const permission = config.permission;
    // Unreachable: checkRouteDeclaration refused such routes at start-up. Kept so a bug fails closed.
    if (permission === undefined) throw new ForbiddenError("this route declares no permission");

    const header = request.headers.authorization;
    const principal = await app.guardAuthentication(request, async (): Promise<Principal> => {
      if (header === undefined || header === "") {
        if (readSessionCookie(request) === undefined) {
          throw new NoCredentialsError("this route needs a bearer token: Authorization: Bearer tnr_…");
        }
        return (await sessionPrincipal(request, options.sessions))!;
      }
      const match = BEARER.exec(header);
      if (match?.[1] === undefined) {
        throw new UnauthenticatedError("the Authorization header must be `Bearer <token>`");
      }
      return options.tokens.authenticate(match[1]);
    });
    request.principal = principal;
    if (!roleAllows(principal.role, permission)) {
      throw new ForbiddenError(
        `the ${"sessionId" in principal ? "session's" : "token's"} role ${principal.role} may not do this (needs ${permission}, held by: ${rolesWith(permission).join(", ")})`,
      );
    }
  });
}
