import { randomBytes, timingSafeEqual } from "node:crypto";
import { appendEvents } from "../../audit/ledger.js";
import { NotFoundError } from "../../shared/errors.js";
import { newId } from "../../shared/ids.js";
import {
  type ConsoleSessionRecord,
  consoleSessionRepository,
  type SignInMethod,
} from "../../store/console-session-repository.js";
import type { Db } from "../../store/schema-types.js";
import { UnauthenticatedError } from "./auth-errors.js";
import { isPlatformRole, type PlatformRole } from "./platform-roles.js";
import { hashToken, identityHasLeft, type Principal } from "./token-service.js";

/** 32 random bytes in base64url: what the session cookie and a sign-in link carry. */
const SECRET_PATTERN = /^[A-Za-z0-9_-]{43}$/;

function randomSecret(): string {
  return randomBytes(32).toString("base64url");
}

/** Who signs in: a name for the audit and the header, a platform role, and the identity when known. */
export interface SignIn {
  name: string;
  role: PlatformRole;
  identityId: string | null;
  via: SignInMethod;
  /** What the audit records as having signed in (`token:NAME`, `oidc:SUBJECT`, `link:NAME`). */
  actor: string;
}

/** A session just started: the cookie value (shown to the browser once, stored hashed) and its record. */
export interface StartedSession {
  secret: string;
  record: ConsoleSessionRecord;
}

/** The principal of a console session: what routes see, plus the CSRF token the console must echo. */
export interface SessionPrincipal extends Principal {
  sessionId: string;
  via: SignInMethod;
  csrfToken: string;
  expiresAt: string;
}

export interface SessionServiceDeps {
  db: Db;
  now: () => Date;
  /** How long a session lasts from sign-in (`server.console.sessionHours`). */
  sessionHours: number;
}

/**
 * Console sessions: started after a token, an OpenID Connect sign-in or a one-time link has proved who
 * someone is; named by a random secret in an http-only cookie (only its SHA-256 is stored); ended by
 * signing out or by time. A session bound to an identity ends as soon as that identity is terminated or deleted:
 * a leaver's console access goes with the rest of their access. Starting and ending are audited
 * (`session.started`, `session.ended`), as is making a sign-in link (`sign-in-link.created`).
 */
export function createSessionService(deps: SessionServiceDeps) {
  const { db, now } = deps;
  const lifetimeMs = deps.sessionHours * 3_600_000;

  async function start(signIn: SignIn): Promise<StartedSession> {
    const at = now();
    const secret = randomSecret();
    const record: ConsoleSessionRecord = {
      id: newId(),
      csrfToken: randomSecret(),
      name: signIn.name,
      role: signIn.role,
      identityId: signIn.identityId,
      via: signIn.via,
      createdAt: at.toISOString(),
      expiresAt: new Date(at.getTime() + lifetimeMs).toISOString(),
      endedAt: null,
    };
    await db.transaction().execute(async (trx) => {
      await consoleSessionRepository.insert(trx, record, hashToken(secret));
      await appendEvents(trx, [
        {
          time: record.createdAt,
          actor: signIn.actor,
          action: "session.started",
          subject: `session:${record.id}`,
          details: {
            name: record.name,
            role: record.role,
            via: record.via,
            identity: record.identityId,
            expiresAt: record.expiresAt,
          },
        },
      ]);
    });
    return { secret, record };
  }

  return {
    start,

    /**
     * The principal a session cookie stands for.
     * @throws UnauthenticatedError when the value is malformed, unknown, ended or expired, or the identity
     *   it is bound to is terminated or gone.
     */
    async authenticate(cookieValue: string): Promise<SessionPrincipal> {
      const signedOut = () => new UnauthenticatedError("the console session has ended: sign in again");
      if (!SECRET_PATTERN.test(cookieValue)) throw signedOut();
      const computed = hashToken(cookieValue);
      const match = await consoleSessionRepository.findByHash(db, computed);
      if (
        match === undefined ||
        !timingSafeEqual(Buffer.from(match.secretHash, "hex"), Buffer.from(computed, "hex"))
      ) {
        throw signedOut();
      }
      const { record } = match;
      if (record.endedAt !== null || Date.parse(record.expiresAt) <= now().getTime()) throw signedOut();
      if (!isPlatformRole(record.role)) throw signedOut();
      if (record.identityId !== null && (await identityHasLeft(db, record.identityId))) throw signedOut();
      return {
        tokenId: record.id,
        sessionId: record.id,
        name: record.name,
        role: record.role,
        actor: `${record.via}:${record.name}`,
        via: record.via,
        identityId: record.identityId,
        csrfToken: record.csrfToken,
        expiresAt: record.expiresAt,
      };
    },

    /** Ends the session (signing out); audited once, however often it is called. */
    async end(principal: SessionPrincipal): Promise<void> {
      const at = now().toISOString();
      await db.transaction().execute(async (trx) => {
        if (!(await consoleSessionRepository.end(trx, principal.sessionId, at))) return;
        await appendEvents(trx, [
          {
            time: at,
            actor: principal.actor,
            action: "session.ended",
            subject: `session:${principal.sessionId}`,
            details: { name: principal.name, role: principal.role, reason: "signed out" },
          },
        ]);
      });
    },

    /**
     * A one-time sign-in link's code for `name` with `role`, valid `minutes` (the demo prints one). Only
     * its hash is stored; the code is returned once.
     */
    async createLink(input: {
      name: string;
      role: PlatformRole;
      minutes: number;
      actor: string;
    }): Promise<{ code: string; expiresAt: string }> {
      const at = now();
      const code = randomSecret();
      const link = {
        id: newId(),
        name: input.name,
        role: input.role,
        createdAt: at.toISOString(),
        createdBy: input.actor,
        expiresAt: new Date(at.getTime() + input.minutes * 60_000).toISOString(),
      };
      await db.transaction().execute(async (trx) => {
        await consoleSessionRepository.insertLink(trx, link, hashToken(code));
        await appendEvents(trx, [
          {
            time: link.createdAt,
            actor: input.actor,
            action: "sign-in-link.created",
            subject: `sign-in-link:${link.id}`,
            details: { name: link.name, role: link.role, expiresAt: link.expiresAt },
          },
        ]);
      });
      return { code, expiresAt: link.expiresAt };
    },

    /**
     * Starts a session from a sign-in link, using the link up: a second use, an expired or an unknown
     * code is refused.
     * @throws NotFoundError (404) naming why nothing was signed in.
     */
    async redeemLink(code: string): Promise<StartedSession> {
      const refused = () =>
        new NotFoundError("this sign-in link is unknown, used already or expired: ask for a new one");
      if (!SECRET_PATTERN.test(code)) throw refused();
      const link = await consoleSessionRepository.consumeLink(db, hashToken(code), now().toISOString());
      if (link === undefined || !isPlatformRole(link.role)) throw refused();
      return start({
        name: link.name,
        role: link.role,
        identityId: null,
        via: "link",
        actor: `link:${link.name}`,
      });
    },
  };
}

export type SessionService = ReturnType<typeof createSessionService>;
