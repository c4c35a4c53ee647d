import type {} from "@fastify/cookie";
import type { FastifyReply, FastifyRequest } from "fastify";

/** The console session cookie: http-only, so no script (nor an injected one) can read it. */
export const SESSION_COOKIE = "tenure_session";
/** The header the console echoes the session's CSRF token in, on every request that changes something. */
export const CSRF_HEADER = "x-csrf-token";

/** The session cookie's value, if the request carries one (@fastify/cookie parses it). */
export function readSessionCookie(request: FastifyRequest): string | undefined {
  const value = request.cookies?.[SESSION_COOKIE];
  return value === undefined || value === "" ? undefined : value;
}

/**
 * Whether cookies must be `Secure`: when the console's public URL is https, or the request came over
 * https (directly, or through a trusted proxy that says so).
 */
export function secureCookies(request: FastifyRequest, publicUrl: string | undefined): boolean {
  if (publicUrl !== undefined) return publicUrl.startsWith("https:");
  return request.protocol === "https";
}

/**
 * Sets the session cookie: http-only, `SameSite=Lax` (sent on a top-level navigation back from the
 * identity provider, never on another site's form post or fetch), path `/`, expiring with the session.
 */
export function setSessionCookie(
  reply: FastifyReply,
  secret: string,
  expiresAt: string,
  secure: boolean,
): void {
  reply.setCookie(SESSION_COOKIE, secret, {
    httpOnly: true,
    sameSite: "lax",
    secure,
    path: "/",
    expires: new Date(expiresAt),
  });
}

export function clearSessionCookie(reply: FastifyReply, secure: boolean): void {
  reply.clearCookie(SESSION_COOKIE, { httpOnly: true, sameSite: "lax", secure, path: "/" });
}
