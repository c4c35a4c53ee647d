import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { appendEvents } from "../../audit/ledger.js";
import { isGone } from "../../domain/lifecycle.js";
import { InvalidInputError, NotFoundError, TenureError } from "../../shared/errors.js";
import { createGroupCommit } from "../../shared/group-commit.js";
import { newId } from "../../shared/ids.js";
import type { ApiTokenMatch, ApiTokenRecord, ApiTokenRepository } from "../../store/api-token-repository.js";
import { identityRepository } from "../../store/identity-repository.js";
import type { Db } from "../../store/schema-types.js";
import { UnauthenticatedError } from "./auth-errors.js";
import { isPlatformRole, PLATFORM_ROLES, type PlatformRole } from "./platform-roles.js";

/** Every token starts with this, so a leaked one is recognisable (secret scanners, logs). */
export const TOKEN_PREFIX = "tnr_";
// 32 random bytes in base64url: 43 characters.
const TOKEN_PATTERN = /^tnr_[A-Za-z0-9_-]{43}$/;
const DISPLAY_PREFIX_LENGTH = TOKEN_PREFIX.length + 6;
const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
/** last_used_at is written at most this often per token. */
const TOUCH_INTERVAL_MS = 60_000;

/** Who is calling: an authenticated token. `actor` is what the audit records. */
export interface Principal {
  tokenId: string;
  name: string;
  role: PlatformRole;
  actor: string;
  /** The identity the caller is, when known (a console session signed in through OpenID Connect). */
  identityId?: string | null;
}

export interface CreatedToken {
  /** The token itself: shown once, never stored. */
  token: string;
  record: ApiTokenRecord;
}

export interface TokenServiceDeps {
  db: Db;
  tokens: Pick<
    ApiTokenRepository,
    "insert" | "findByHash" | "findById" | "findLiveByName" | "list" | "revoke" | "touch"
  >;
  now: () => Date;
}

/**
 * Whether the identity a token or a console session stands for has left (terminated, deleted or gone
 * from the store): a person's credentials go with the rest of their access.
 */
export async function identityHasLeft(db: Db, identityId: string): Promise<boolean> {
  const identity = await identityRepository.findById(db, identityId);
  return identity === undefined || isGone(identity.state);
}

/** The hex SHA-256 of a token (or any secret Tenure keeps only hashed): what the store keeps. */
export function hashToken(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("hex");
}

/**
 * When a token given `--expires VALUE` at `now` expires: `90d`, `12h`, `4w`, or an ISO-8601 date or
 * date-time; `never` (or nothing) for no expiry.
 * @throws InvalidInputError naming the value and the accepted forms.
 */
export function parseExpiry(value: string | undefined, now: Date): Date | null {
  if (value === undefined || value === "never") return null;
  const relative = /^(\d{1,5})([hdw])$/.exec(value);
  if (relative) {
    const hours = { h: 1, d: 24, w: 24 * 7 }[relative[2] as "h" | "d" | "w"];
    const amount = Number(relative[1]);
    if (amount > 0) return new Date(now.getTime() + amount * hours * 3_600_000);
  }
  if (/^\d{4}-\d{2}-\d{2}([T ].+)?$/.test(value)) {
    const at = new Date(value);
    if (!Number.isNaN(at.getTime())) {
      if (at.getTime() <= now.getTime()) throw new InvalidInputError(`expiry "${value}" is in the past`);
      return at;
    }
  }
  throw new InvalidInputError(
    `expiry "${value}" is not a duration (e.g. 90d, 12h, 4w), an ISO-8601 date or time, or "never"`,
  );
}

/**
 * Creates, lists, revokes and checks API bearer tokens. A token is `tnr_` and 32 random bytes
 * (base64url); only its SHA-256 hash is stored, and it is shown once, to whoever created it.
 * Creating and revoking are audited (`token.created`, `token.revoked`) with the token's name, role
 * and display prefix, never the token.
 */
export function createTokenService(deps: TokenServiceDeps) {
  const { db, tokens, now } = deps;
  /**
   * When this process last wrote a token's last_used_at: a token used again within the interval is not
   * written again (the statement would change nothing; under a burst it was a round trip per request).
   */
  const touchedAt = new Map<string, number>();
  /**
   * Lookups by hash of the requests in hand, grouped (shared/group-commit.ts): requests arriving while
   * a lookup runs share the next one, and those presenting the same token share its read — under a
   * burst from one client, one read for the requests of a round trip, not one each. Every lookup is
   * sent after the requests it answers arrived, so a revocation committed before a request is seen by it.
   */
  const lookups = createGroupCommit<string, ApiTokenMatch | undefined>({
    maxBatch: 64,
    maxInFlight: 2,
    run: async (_, hashes) => {
      const distinct = [...new Set(hashes)];
      const found = await Promise.all(distinct.map((h) => tokens.findByHash(db, h)));
      return hashes.map((h) => found[distinct.indexOf(h)]);
    },
    alone: (_, hash) => tokens.findByHash(db, hash),
  });

  return {
    /**
     * @throws InvalidInputError for a bad name or role; TenureError `token_name_taken` (409) when a live
     *   token already has the name.
     */
    async create(input: {
      name: string;
      role: string;
      expiresAt: Date | null;
      actor: string;
      /** The identity the token stands for: its id, HR key or email; it must not be terminated. */
      identity?: string;
    }): Promise<CreatedToken> {
      if (!NAME_PATTERN.test(input.name)) {
        throw new InvalidInputError(
          `token name "${input.name}" must be 1 to 64 letters, digits, dots, dashes or underscores, starting with a letter or digit`,
        );
      }
      if (!isPlatformRole(input.role)) {
        throw new InvalidInputError(`role "${input.role}" is not one of ${PLATFORM_ROLES.join(", ")}`);
      }
      let identityId: string | null = null;
      if (input.identity !== undefined) {
        const identity = await identityRepository.resolve(db, input.identity);
        if (identity === undefined) {
          throw new InvalidInputError(
            `--identity ${input.identity}: no identity has this id, HR key or email`,
          );
        }
        if (isGone(identity.state)) {
          throw new InvalidInputError(`--identity ${input.identity}: the identity is ${identity.state}`);
        }
        identityId = identity.id;
      }
      const at = now();
      const token = `${TOKEN_PREFIX}${randomBytes(32).toString("base64url")}`;
      const record: ApiTokenRecord = {
        id: newId(),
        name: input.name,
        role: input.role,
        prefix: token.slice(0, DISPLAY_PREFIX_LENGTH),
        createdAt: at.toISOString(),
        createdBy: input.actor,
        expiresAt: input.expiresAt?.toISOString() ?? null,
        revokedAt: null,
        lastUsedAt: null,
        identityId,
      };
      const taken = () =>
        new TenureError(
          "token_name_taken",
          `a token named "${input.name}" exists; revoke it or pick another name`,
          {
            httpStatus: 409,
          },
        );
      await db.transaction().execute(async (trx) => {
        if ((await tokens.findLiveByName(trx, input.name)) !== undefined) throw taken();
        await tokens.insert(trx, record, hashToken(token));
        await appendEvents(trx, [
          {
            time: record.createdAt,
            actor: input.actor,
            action: "token.created",
            subject: `token:${record.id}`,
            details: {
              name: record.name,
              role: record.role,
              prefix: record.prefix,
              expiresAt: record.expiresAt,
              identity: record.identityId,
            },
          },
        ]);
      });
      return { token, record };
    },

    /** Every token, revoked ones included; never a hash. */
    list(): Promise<ApiTokenRecord[]> {
      return tokens.list(db);
    },

    /**
     * Revokes the live token with this name, or the token with this id.
     * @throws NotFoundError when neither matches a token that is not revoked yet.
     */
    async revoke(ref: string, actor: string): Promise<ApiTokenRecord> {
      const at = now().toISOString();
      return db.transaction().execute(async (trx) => {
        const found = (await tokens.findLiveByName(trx, ref)) ?? (await tokens.findById(trx, ref));
        if (found === undefined || found.revokedAt !== null || !(await tokens.revoke(trx, found.id, at))) {
          throw new NotFoundError(`no live token is named or has the id "${ref}"`);
        }
        await appendEvents(trx, [
          {
            time: at,
            actor,
            action: "token.revoked",
            subject: `token:${found.id}`,
            details: { name: found.name, role: found.role, prefix: found.prefix },
          },
        ]);
        return { ...found, revokedAt: at };
      });
    },

    /**
     * The principal a presented token stands for, recording its use (at most once a minute).
     * @throws UnauthenticatedError when the token is malformed, unknown, expired or revoked.
     */
    async authenticate(presented: string): Promise<Principal> {
      if (!TOKEN_PATTERN.test(presented)) throw new UnauthenticatedError("the bearer token is not valid");
      const computed = hashToken(presented);
      const match = await lookups.submit("", computed);
      // The lookup is by hash, so timing reveals nothing about the token; the compare guards a lookup
      // that ever matched loosely (collation, truncation).
      if (
        match === undefined ||
        !timingSafeEqual(Buffer.from(match.tokenHash, "hex"), Buffer.from(computed, "hex"))
      ) {
        throw new UnauthenticatedError("the bearer token is not valid");
      }
      const { record } = match;
      const at = now();
      if (record.revokedAt !== null) throw new UnauthenticatedError("the bearer token has been revoked");
      if (record.expiresAt !== null && Date.parse(record.expiresAt) <= at.getTime()) {
        throw new UnauthenticatedError("the bearer token has expired");
      }
      if (!isPlatformRole(record.role))
        throw new UnauthenticatedError("the bearer token's role is not known");
      if (record.identityId !== null && (await identityHasLeft(db, record.identityId))) {
        throw new UnauthenticatedError("the bearer token's identity has left");
      }
      const last = touchedAt.get(record.id);
      if (last === undefined || at.getTime() - last >= TOUCH_INTERVAL_MS || at.getTime() < last) {
        await tokens.touch(
          db,
          record.id,
          at.toISOString(),
          new Date(at.getTime() - TOUCH_INTERVAL_MS).toISOString(),
        );
        // Bounded: a process sees few tokens, but console sessions come and go.
        if (touchedAt.size >= 10_000) touchedAt.clear();
        touchedAt.set(record.id, at.getTime());
      }
      return {
        tokenId: record.id,
        name: record.name,
        role: record.role,
        actor: `token:${record.name}`,
        identityId: record.identityId,
      };
    },
  };
}

export type TokenService = ReturnType<typeof createTokenService>;
