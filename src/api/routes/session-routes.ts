import { randomBytes } from "node:crypto";
import type { FastifyReply, FastifyRequest } from "fastify";
import { z } from "zod";
import { identityRepository } from "../../store/identity-repository.js";
import { UnauthenticatedError } from "../auth/auth-errors.js";
import { sessionPrincipal } from "../auth/auth-hooks.js";
import { type PendingSignIn, SignInRefusedError } from "../auth/oidc-sign-in.js";
import { PERMISSIONS, PLATFORM_ROLES, type PlatformRole, roleAllows } from "../auth/platform-roles.js";
import {
  clearSessionCookie,
  readSessionCookie,
  secureCookies,
  setSessionCookie,
} from "../auth/session-cookie.js";
import type { SessionPrincipal } from "../auth/session-service.js";
import type { RouteDeps, RouteModule } from "../route-types.js";

const OIDC_COOKIE = "tenure_oidc";
const OIDC_PATH = "/auth/oidc";

const sessionSchema = z
  .object({
    name: z.string(),
    role: z.enum(PLATFORM_ROLES),
    permissions: z.array(z.enum(PERMISSIONS)).describe("what the role may do: the console shows only these"),
    identity: z
      .object({ id: z.string(), sourceKey: z.string(), displayName: z.string() })
      .nullable()
      .describe("the identity the person is, when single sign-on matched one"),
    via: z.enum(["token", "oidc", "link"]),
    csrfToken: z.string().describe("send back in x-csrf-token on every request that changes something"),
    expiresAt: z.string().nullable(),
  })
  .meta({ id: "ConsoleSession" });

type SessionView = z.output<typeof sessionSchema>;

/** Who is signed in, as the console is told: a session's record, or a bearer token's (no CSRF token, no end). */
interface SignedInAs {
  name: string;
  role: PlatformRole;
  identityId: string | null;
  via: SessionView["via"];
  csrfToken: string;
  expiresAt: string | null;
}

async function viewOf(deps: RouteDeps, p: SignedInAs): Promise<SessionView> {
  const identity =
    p.identityId !== null ? await identityRepository.findById(deps.store.db, p.identityId) : undefined;
  return {
    name: p.name,
    role: p.role,
    permissions: PERMISSIONS.filter((perm) => roleAllows(p.role, perm)),
    identity:
      identity === undefined
        ? null
        : { id: identity.id, sourceKey: identity.sourceKey, displayName: identity.attributes.displayName },
    via: p.via,
    csrfToken: p.csrfToken,
    expiresAt: p.expiresAt,
  };
}

/** The console's own address: the configured public URL, or the one the request came to. */
function originOf(deps: RouteDeps, request: FastifyRequest): string {
  return deps.config.server.console.publicUrl?.replace(/\/+$/, "") ?? `${request.protocol}://${request.host}`;
}

/**
 * Console sign-in: with an API token, through OpenID Connect, or with a one-time link; who is signed
 * in; signing out. Sessions live in an http-only cookie (src/api/auth/session-cookie.ts); the console
 * sends the session's CSRF token with every request that changes something.
 */
export const sessionRoutes: RouteModule = async (app, deps) => {
  const tags = ["session"];
  const secure = (request: FastifyRequest) => secureCookies(request, deps.config.server.console.publicUrl);

  async function signedIn(reply: FastifyReply, request: FastifyRequest, secret: string, expiresAt: string) {
    setSessionCookie(reply, secret, expiresAt, secure(request));
  }

  app.get(
    "/api/session/options",
    {
      config: { public: true },
      schema: {
        summary: "How one may sign in to the console",
        tags,
        response: {
          200: z.object({ oidc: z.object({ enabled: z.boolean(), label: z.string().nullable() }) }),
        },
      },
    },
    async () => ({
      oidc: { enabled: deps.oidc !== null, label: deps.oidc?.label ?? null },
    }),
  );

  app.post(
    "/api/session",
    {
      config: { public: true },
      schema: {
        summary: "Sign in to the console with an API token: starts a session (http-only cookie)",
        description: "The session has the token's name and role. 401 when the token is not valid.",
        tags,
        body: z.strictObject({ token: z.string().min(1).max(200) }),
        response: { 200: sessionSchema },
      },
    },
    async (request, reply) => {
      const token = await app.guardAuthentication(request, () =>
        deps.tokens.authenticate(request.body.token),
      );
      const { secret, record } = await deps.sessions.start({
        name: token.name,
        role: token.role,
        identityId: token.identityId ?? null,
        via: "token",
        actor: token.actor,
      });
      await signedIn(reply, request, secret, record.expiresAt);
      return viewOf(deps, { ...record, role: token.role });
    },
  );

  app.get(
    "/api/session",
    {
      config: { permission: "session:read" },
      schema: {
        summary: "Who is signed in: the console session's (or the bearer token's) name, role and permissions",
        tags,
        response: { 200: sessionSchema },
      },
    },
    async (request) => {
      const principal = request.principal!;
      if ("sessionId" in principal) {
        const session = principal as SessionPrincipal;
        return viewOf(deps, { ...session, identityId: session.identityId ?? null });
      }
      // A script with a token asks who it is: no session, so no CSRF token and no end.
      return viewOf(deps, {
        ...principal,
        identityId: principal.identityId ?? null,
        via: "token",
        csrfToken: "",
        expiresAt: null,
      });
    },
  );

  app.delete(
    "/api/session",
    {
      config: { public: true },
      schema: { summary: "Sign out of the console: ends the session", tags, response: { 204: z.null() } },
    },
    async (request, reply) => {
      if (readSessionCookie(request) !== undefined) {
        const principal = await sessionPrincipal(request, deps.sessions).catch((err: unknown) => {
          // An ended or expired session is signed out already; a missing CSRF token is not.
          if (err instanceof UnauthenticatedError) return null;
          throw err;
        });
        if (principal !== null) await deps.sessions.end(principal as SessionPrincipal);
      }
      clearSessionCookie(reply, secure(request));
      return reply.code(204).send(null);
    },
  );

  app.get(
    "/auth/link/:code",
    {
      config: { public: true },
      schema: {
        summary: "Sign in with a one-time link (as `tenure demo` prints): used once, then gone",
        tags,
        params: z.strictObject({ code: z.string().min(1).max(100) }),
      },
    },
    async (request, reply) => {
      const { secret, record } = await deps.sessions.redeemLink(request.params.code);
      await signedIn(reply, request, secret, record.expiresAt);
      return reply.redirect("/", 303);
    },
  );

  app.get(
    `${OIDC_PATH}/start`,
    {
      config: { public: true },
      schema: { summary: "Single sign-on: sends the browser to the OpenID provider", tags },
    },
    async (request, reply) => {
      if (deps.oidc === null) return refuseSignIn(reply, request, "single sign-on is not configured");
      const { url, pending } = await deps.oidc.begin(`${originOf(deps, request)}${OIDC_PATH}/callback`);
      reply.setCookie(OIDC_COOKIE, JSON.stringify(pending), {
        httpOnly: true,
        sameSite: "lax",
        secure: secure(request),
        path: OIDC_PATH,
        maxAge: 600,
        signed: true,
      });
      return reply.redirect(url, 303);
    },
  );

  app.get(
    `${OIDC_PATH}/callback`,
    {
      config: { public: true },
      schema: { summary: "Single sign-on: where the OpenID provider sends the browser back", tags },
    },
    async (request, reply) => {
      const fail = (message: string) => refuseSignIn(reply, request, message);
      reply.clearCookie(OIDC_COOKIE, { path: OIDC_PATH });
      if (deps.oidc === null) return fail("single sign-on is not configured");
      const raw = request.cookies[OIDC_COOKIE];
      const unsigned = raw === undefined ? undefined : request.unsignCookie(raw);
      if (unsigned === undefined || !unsigned.valid || unsigned.value === null) {
        return fail("the sign-in took too long or began in another browser: try again");
      }
      const pending = JSON.parse(unsigned.value) as PendingSignIn;
      const callbackUrl = new URL(`${pending.redirectUri}${request.url.slice(request.url.indexOf("?"))}`);
      try {
        const signIn = await deps.oidc.finish(callbackUrl, pending);
        const { secret, record } = await deps.sessions.start(signIn);
        await signedIn(reply, request, secret, record.expiresAt);
        return reply.redirect("/", 303);
      } catch (err) {
        if (!(err instanceof SignInRefusedError)) throw err;
        request.log.info({ reason: err.message }, "single sign-on refused");
        return fail(err.message);
      }
    },
  );
};

/** Where a refused sign-in's reason waits for the sign-in page (read once by the console, then cleared). */
const SIGN_IN_ERROR_COOKIE = "tenure_signin_error";

/**
 * Back to the sign-in page with why the sign-in was refused. The reason travels in a short-lived cookie,
 * not the URL: a link anyone can craft must not make the sign-in page say what its author wants.
 */
function refuseSignIn(reply: FastifyReply, request: FastifyRequest, message: string) {
  reply.setCookie(SIGN_IN_ERROR_COOKIE, message, {
    sameSite: "lax",
    secure: request.protocol === "https",
    path: "/",
    maxAge: 60,
  });
  return reply.redirect("/", 303);
}

/** A secret for signing the short-lived sign-in cookie: new at every start, which only ends sign-ins in flight. */
export function cookieSigningSecret(): string {
  return randomBytes(32).toString("base64url");
}
