import * as oidc from "openid-client";
import { isGone } from "../../domain/lifecycle.js";
import type { ConsoleOidcConfig } from "../../policy/config-types.js";
import { TenureError } from "../../shared/errors.js";
import { identityRepository } from "../../store/identity-repository.js";
import type { Db } from "../../store/schema-types.js";
import type { PlatformRole } from "./platform-roles.js";
import type { SignIn } from "./session-service.js";

/** What the browser keeps (in a signed, http-only cookie) between leaving for the provider and coming back. */
export interface PendingSignIn {
  state: string;
  nonce: string;
  verifier: string;
  redirectUri: string;
}

/** A refused single sign-on: said to the person on the sign-in page, and logged. Nothing is stored. */
export class SignInRefusedError extends TenureError {
  constructor(message: string) {
    super("sign_in_refused", message, { httpStatus: 403 });
  }
}

const LOOPBACK = new Set(["127.0.0.1", "localhost", "[::1]", "::1"]);

/**
 * Single sign-on to the console through an OpenID Connect provider (authorization code flow with PKCE,
 * state and nonce, by openid-client). The provider's discovery document is read once, at first use. The
 * signed-in person is matched to exactly one identity that is not terminated (claim `match.claim` equal
 * to the identity's `match.attribute`), and given the platform role the claim `roles.claim` maps to.
 */
export function createOidcSignIn(settings: ConsoleOidcConfig, db: Db) {
  let discovered: Promise<oidc.Configuration> | undefined;
  const issuer = new URL(settings.issuer);
  // Plain http is for a provider on this machine (tests, a local demo), never across a network.
  const insecure = issuer.protocol === "http:" && LOOPBACK.has(issuer.hostname);

  function configuration(): Promise<oidc.Configuration> {
    discovered ??= oidc
      .discovery(
        issuer,
        settings.clientId,
        settings.clientSecret,
        undefined,
        insecure ? { execute: [oidc.allowInsecureRequests] } : undefined,
      )
      .catch((err: unknown) => {
        discovered = undefined;
        throw new TenureError(
          "oidc_unavailable",
          `the OpenID provider ${settings.issuer} could not be reached: ${err instanceof Error ? err.message : String(err)}`,
          { httpStatus: 503 },
        );
      });
    return discovered;
  }

  return {
    label: settings.label,

    /** Where to send the browser, and what to remember until it comes back. */
    async begin(redirectUri: string): Promise<{ url: string; pending: PendingSignIn }> {
      const config = await configuration();
      const verifier = oidc.randomPKCECodeVerifier();
      const pending: PendingSignIn = {
        state: oidc.randomState(),
        nonce: oidc.randomNonce(),
        verifier,
        redirectUri,
      };
      const url = oidc.buildAuthorizationUrl(config, {
        redirect_uri: redirectUri,
        scope: settings.scopes.join(" "),
        code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
        code_challenge_method: "S256",
        state: pending.state,
        nonce: pending.nonce,
      });
      return { url: url.href, pending };
    },

    /**
     * Finishes the sign-in from the URL the provider sent the browser back to: exchanges the code, checks
     * state, nonce and the ID token, reads the claims (ID token and userinfo), and decides who this is.
     * @throws SignInRefusedError naming why (no identity matches, a terminated identity, no role).
     */
    async finish(callbackUrl: URL, pending: PendingSignIn): Promise<SignIn> {
      const config = await configuration();
      let claims: Record<string, unknown>;
      try {
        const tokens = await oidc.authorizationCodeGrant(config, callbackUrl, {
          pkceCodeVerifier: pending.verifier,
          expectedState: pending.state,
          expectedNonce: pending.nonce,
        });
        const idClaims = tokens.claims();
        if (idClaims === undefined) throw new Error("the provider sent no ID token");
        const userinfo = await oidc.fetchUserInfo(config, tokens.access_token, idClaims.sub);
        claims = { ...userinfo, ...idClaims };
      } catch (err) {
        if (err instanceof TenureError) throw err;
        throw new SignInRefusedError(
          `single sign-on failed: ${err instanceof Error ? err.message : String(err)}`,
        );
      }
      return decide(claims);
    },
  };

  async function decide(claims: Record<string, unknown>): Promise<SignIn> {
    const named = claims[settings.match.claim];
    if (typeof named !== "string" || named === "") {
      throw new SignInRefusedError(
        `the provider did not send the claim "${settings.match.claim}" that server.console.oidc.match.claim names`,
      );
    }
    const found = await identityRepository.findByMatch(db, settings.match.attribute, named);
    const live = found.filter((i) => !isGone(i.state));
    if (live.length === 0) {
      throw new SignInRefusedError(
        found.length > 0
          ? `${named} belongs to a terminated identity: a leaver cannot sign in`
          : `no identity has ${settings.match.attribute} ${named}: ask an administrator`,
      );
    }
    if (live.length > 1) {
      throw new SignInRefusedError(`${named} matches ${live.length} identities; it must match exactly one`);
    }
    const identity = live[0]!;
    const role = roleOf(claims);
    if (role === undefined) {
      throw new SignInRefusedError(
        `${named} has no Tenure role: none of the values of the claim "${settings.roles.claim}" is in server.console.oidc.roles.map, and there is no roles.default`,
      );
    }
    return {
      name: identity.attributes.displayName,
      role,
      identityId: identity.id,
      via: "oidc",
      actor: `oidc:${named}`,
    };
  }

  function roleOf(claims: Record<string, unknown>): PlatformRole | undefined {
    const raw = claims[settings.roles.claim];
    const values = Array.isArray(raw) ? raw.map(String) : typeof raw === "string" ? [raw] : [];
    for (const [value, role] of Object.entries(settings.roles.map)) {
      if (values.includes(value)) return role;
    }
    return settings.roles.default;
  }
}

export type OidcSignIn = ReturnType<typeof createOidcSignIn>;
