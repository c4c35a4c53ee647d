import http from "node:http";
import Provider from "oidc-provider";
import { freePort } from "./net.js";

/** A person the test provider knows: signs in with `login` (any password, as oidc-provider's dev pages accept). */
export interface OidcAccount {
  login: string;
  email: string;
  name: string;
  groups: string[];
}

export interface TestOidcProvider {
  issuer: string;
  clientId: string;
  clientSecret: string;
  close(): Promise<void>;
}

/**
 * A real OpenID Provider (the `oidc-provider` library) on a loopback port, with one confidential client
 * whose redirect URI is `redirectUri`, and `accounts`. Its own development sign-in page is what the browser
 * fills in; consent is granted as part of sign-in (a first-party console asks nobody to consent).
 */
export async function startOidcProvider(options: {
  redirectUri: string;
  accounts: readonly OidcAccount[];
}): Promise<TestOidcProvider> {
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const clientId = "tenure-console";
  const clientSecret = "test-client-secret-0123456789abcdef";
  const byLogin = new Map(options.accounts.map((a) => [a.login, a]));
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: clientId,
        client_secret: clientSecret,
        redirect_uris: [options.redirectUri],
        grant_types: ["authorization_code"],
        response_types: ["code"],
      },
    ],
    claims: { openid: ["sub"], email: ["email", "email_verified"], profile: ["name", "groups"] },
    features: { devInteractions: { enabled: true } },
    pkce: { required: () => true },
    async findAccount(_ctx, id) {
      const account = byLogin.get(id);
      if (account === undefined) return undefined;
      return {
        accountId: id,
        claims: async () => ({
          sub: id,
          email: account.email,
          email_verified: true,
          name: account.name,
          groups: account.groups,
        }),
      };
    },
    // Consent is part of signing in to a first-party application: the grant is made when it is asked for.
    async loadExistingGrant(ctx) {
      const session = ctx.oidc.session;
      const client = ctx.oidc.client;
      if (session?.accountId === undefined || client === undefined) return undefined;
      const grant = new ctx.oidc.provider.Grant({ clientId: client.clientId, accountId: session.accountId });
      grant.addOIDCScope("openid email profile");
      await grant.save();
      return grant;
    },
  });
  // oidc-provider refuses plain http unless it is told it runs in development; the issuer is loopback only.
  provider.proxy = false;
  const server = http.createServer(provider.callback());
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  return {
    issuer,
    clientId,
    clientSecret,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
