import fs from "node:fs/promises";
import type { ConnectionOptions } from "node:tls";
import { ConnectorError, keptConnections } from "../connector-types.js";
import type { LdapClient, LdapConnectorDeps, LdapContext } from "./ldap-context.js";
import { ldapResultCode, toLdapConnectorError } from "./ldap-errors.js";

export type LdapSession = <T>(
  what: string,
  fn: (client: LdapClient) => Promise<T>,
  callSecrets?: readonly string[],
) => Promise<T>;

/**
 * Bound connections to the directory, pooled between calls: connecting and binding per call cost more
 * than the write. `session` lends one (see its comment); `close` unbinds the idle ones and refuses
 * new sessions.
 */
export function createLdapSessions(
  ctx: LdapContext,
  deps: LdapConnectorDeps,
  concurrency = 8,
): { session: LdapSession; bindAs(dn: string, password: string): Promise<void>; close(): Promise<void> } {
  const { system, config } = ctx;
  const secrets = [config.bindPassword];
  const target = config.url;
  const idle: LdapClient[] = [];
  /**
   * How many bound connections are kept: `maxConnections`, else the system's concurrency (at most 64).
   * Kept fewer than the writes that run at once, each write past them connected, bound and unbound —
   * under a burst at a concurrency of 32, three in four.
   */
  const keep = config.maxConnections ?? keptConnections({ concurrency });
  let closed = false;

  let caCertificates: Promise<Buffer> | undefined;

  /** TLS settings for ldaps:// and StartTLS; `tlsCaFile` is read once (again after a failed read). */
  async function tlsSettings(): Promise<ConnectionOptions> {
    const settings: ConnectionOptions = { rejectUnauthorized: config.tlsRejectUnauthorized };
    const file = config.tlsCaFile;
    if (file === undefined) return settings;
    caCertificates ??= fs.readFile(file).catch((err: unknown) => {
      caCertificates = undefined;
      const code = (err as { code?: unknown }).code;
      throw new ConnectorError(
        system,
        "invalid",
        `cannot read tlsCaFile ${file}${typeof code === "string" ? ` (${code})` : ""}`,
      );
    });
    return { ...settings, ca: await caCertificates };
  }

  async function connect(dn = config.bindDn, password = config.bindPassword): Promise<LdapClient> {
    const tls = await tlsSettings();
    const client = deps.newClient({
      url: config.url,
      timeout: config.timeoutMs,
      connectTimeout: config.timeoutMs,
      // ldapts speaks TLS from the first byte whenever tlsOptions is set, so only for ldaps://.
      ...(/^ldaps:/i.test(config.url) ? { tlsOptions: { ...tls } } : {}),
    });
    try {
      // A fresh object: startTLS writes the socket into the options it is given.
      if (config.startTls) await client.startTLS({ ...tls });
      await client.bind(dn, password);
      return client;
    } catch (err) {
      await client.unbind().catch(() => {});
      throw err;
    }
  }

  async function release(client: LdapClient): Promise<void> {
    if (!closed && idle.length < keep) idle.push(client);
    else await client.unbind().catch(() => {});
  }

  /**
   * Runs `fn` on a bound connection from the pool (or a new one) and gives the connection back when
   * `fn` succeeds. A connection that failed is dropped, never reused: its state is unknown. When a
   * pooled connection fails on the transport (the server closed an idle connection), `fn` runs once
   * more on a fresh one — every call is idempotent, so that is safe. `callSecrets` (a generated
   * password) are kept out of the error like the bind password; they may be added while `fn` runs.
   */
  async function session<T>(
    what: string,
    fn: (client: LdapClient) => Promise<T>,
    callSecrets: readonly string[] = [],
  ): Promise<T> {
    if (closed) throw new ConnectorError(system, "other", "connector is closed");
    for (let attempt = 0; ; attempt++) {
      const pooled = idle.pop();
      let client: LdapClient | undefined = pooled;
      try {
        client ??= await connect();
        const result = await fn(client);
        await release(client);
        return result;
      } catch (err) {
        // An LDAP result (or our own verdict) came back over a working connection; anything else
        // means the connection itself is in doubt.
        const transport = !(err instanceof ConnectorError) && ldapResultCode(err) === undefined;
        if (client !== undefined) {
          if (transport) await client.unbind().catch(() => {});
          else await release(client);
        }
        if (transport && pooled !== undefined && attempt === 0) continue;
        throw toLdapConnectorError(system, what, target, err, [...secrets, ...callSecrets]);
      }
    }
  }

  /**
   * Connects as the connector does (TLS, StartTLS) and binds as `dn` with `password`, then unbinds: a real
   * login, for verifying a rotated password. Throws a ConnectorError (kind `auth` when refused) with the
   * password masked.
   */
  async function bindAs(dn: string, password: string): Promise<void> {
    if (closed) throw new ConnectorError(system, "other", "connector is closed");
    try {
      const client = await connect(dn, password);
      await client.unbind().catch(() => {});
    } catch (err) {
      throw toLdapConnectorError(system, `bind as ${dn}`, target, err, [...secrets, password]);
    }
  }

  return {
    session,
    bindAs,
    async close() {
      closed = true;
      await Promise.all(idle.splice(0).map((client) => client.unbind().catch(() => {})));
    },
  };
}
