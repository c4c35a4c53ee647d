import { createConnector } from "../connectors/connector-registry.js";
import {
  type Connector,
  ConnectorError,
  type CredentialRotator,
  type WriteResult,
} from "../connectors/connector-types.js";
import type { TenureConfig } from "../policy/config-types.js";

/** How long a call to a system may take (tenure.yaml `systems.<name>.timeoutSeconds` and `readTimeoutSeconds`). */
export interface ConnectorDeadlines {
  /** Each write (create, update, enable, disable, delete, grant, revoke, rotate) and `close`. */
  timeoutSeconds: number;
  /** Each full read (`listAccounts`, `listEntitlements`): a large directory takes longer to list. */
  readTimeoutSeconds: number;
}

export const DEFAULT_DEADLINES: ConnectorDeadlines = { timeoutSeconds: 30, readTimeoutSeconds: 600 };

export interface ConnectorPool {
  /**
   * The system's connector, opened on first use and kept. Every call on it has the system's deadline
   * (see {@link withDeadlines}). Throws when the system is not configured or its connector cannot be made.
   */
  get(system: string): Connector;
  closeAll(): Promise<void>;
}

/** Opens each system's connector once, on first use, and closes them all at the end. */
export function connectorPool(config: TenureConfig): ConnectorPool {
  const open = new Map<string, Connector>();
  return {
    get(system) {
      let c = open.get(system);
      if (c === undefined) {
        const def = config.policy.systems[system];
        if (def === undefined) throw new Error(`system ${system} is no longer configured`);
        const options = {
          createMissingGroups: def.createMissingGroups === true,
          concurrency: def.concurrency,
        };
        c = withDeadlines(
          system,
          () => createConnector(system, def.connector, def.connectorConfig, options),
          {
            timeoutSeconds: def.timeoutSeconds ?? DEFAULT_DEADLINES.timeoutSeconds,
            readTimeoutSeconds: def.readTimeoutSeconds ?? DEFAULT_DEADLINES.readTimeoutSeconds,
          },
        );
        open.set(system, c);
      }
      return c;
    },
    async closeAll() {
      await Promise.allSettled([...open.values()].map((c) => c.close()));
      open.clear();
    },
  };
}

/**
 * The one place where connector calls get their deadline (issue 10, point 7): a connector that makes
 * its instances with `make` (the first one at once, so a bad configuration throws here) and gives each
 * call at most its deadline. A call past it is abandoned — its promise is left to settle unobserved —
 * and fails with a retryable `ConnectorError` of kind `unreachable`, so its operation is retried later
 * with the system's backoff; the instance it ran on is discarded (closed in the background, without
 * waiting for a hung server) and the next call gets a fresh one, with fresh connections. A server that
 * froze mid-call therefore costs one deadline per call in flight, never a hung worker.
 *
 * An abandoned write may still reach the system later (the server may process a request it had already
 * read): connector writes are idempotent and the retry finds it done (`changed: false`); reconcile
 * reports whatever else differs.
 */
export function withDeadlines(
  system: string,
  make: () => Connector,
  deadlines: ConnectorDeadlines,
): Connector {
  let current: Connector | undefined = make();
  const supportsRotation = current.rotateCredential !== undefined;

  const instance = (): Connector => {
    if (current !== undefined) return current;
    try {
      current = make();
    } catch (err) {
      throw err instanceof ConnectorError
        ? err
        : new ConnectorError(system, "invalid", err instanceof Error ? err.message : String(err));
    }
    return current;
  };
  const discard = (c: Connector) => {
    if (current === c) current = undefined;
    // Not awaited: closing a connection to a frozen server may itself hang; the instance is dropped anyway.
    void within(c.close(), deadlines.timeoutSeconds).catch(() => {});
  };
  const call = async <T>(
    what: string,
    seconds: number,
    key: string,
    run: (c: Connector) => Promise<T>,
  ): Promise<T> => {
    const c = instance();
    try {
      return await within(run(c), seconds);
    } catch (err) {
      if (err !== TIMED_OUT) throw err;
      discard(c);
      throw new ConnectorError(
        system,
        "unreachable",
        `${what} got no answer within ${seconds} s (systems.${system}.${key}); abandoned, and the connection ` +
          "is replaced; the operation is retried later",
        { retryable: true },
      );
    }
  };
  const write = (what: string, run: (c: Connector) => Promise<WriteResult>) =>
    call(what, deadlines.timeoutSeconds, "timeoutSeconds", run);
  const read = <T>(what: string, run: (c: Connector) => Promise<T>) =>
    call(what, deadlines.readTimeoutSeconds, "readTimeoutSeconds", run);

  const guarded: Connector = {
    describe: () => instance().describe(),
    listAccounts: () => read("listing accounts", (c) => c.listAccounts()),
    listEntitlements: () => read("listing entitlements", (c) => c.listEntitlements()),
    create: (account) => write(`create of "${account.username}"`, (c) => c.create(account)),
    update: (ref, attributes) => write(`update of "${ref.username}"`, (c) => c.update(ref, attributes)),
    enable: (ref) => write(`enable of "${ref.username}"`, (c) => c.enable(ref)),
    disable: (ref) => write(`disable of "${ref.username}"`, (c) => c.disable(ref)),
    delete: (ref) => write(`delete of "${ref.username}"`, (c) => c.delete(ref)),
    grant: (ref, entitlement) =>
      write(`grant of "${entitlement}" to "${ref.username}"`, (c) => c.grant(ref, entitlement)),
    revoke: (ref, entitlement) =>
      write(`revoke of "${entitlement}" from "${ref.username}"`, (c) => c.revoke(ref, entitlement)),
    // A call after close opens a fresh instance, as the pool did before it had deadlines.
    async close() {
      const c = current;
      current = undefined;
      if (c !== undefined) await within(c.close(), deadlines.timeoutSeconds).catch(() => {});
    },
  };
  if (supportsRotation) {
    guarded.rotateCredential = (ref) =>
      write(`credential rotation of "${ref.username}"`, (c) => {
        if (c.rotateCredential === undefined)
          throw new ConnectorError(system, "invalid", "cannot rotate credentials");
        return c.rotateCredential(ref);
      });
  }
  const rotator = current.credentials;
  if (rotator !== undefined) {
    // The rotator of the instance in use, so a replaced instance (after a deadline) rotates with fresh connections.
    const on = <T>(what: string, run: (r: CredentialRotator) => Promise<T>) =>
      call(what, deadlines.timeoutSeconds, "timeoutSeconds", (c) => {
        if (c.credentials === undefined)
          throw new ConnectorError(system, "invalid", "cannot rotate credentials");
        return run(c.credentials);
      });
    const credentials: CredentialRotator = {
      holdsTwo: rotator.holdsTwo,
      setSecret: (ref, secret) =>
        on(`setting the secret of "${ref.username}"`, (r) => r.setSecret(ref, secret)),
      verify: (ref, secret) => on(`verifying the secret of "${ref.username}"`, (r) => r.verify(ref, secret)),
    };
    if (rotator.retireOthers !== undefined) {
      credentials.retireOthers = (ref, keep) =>
        on(`retiring the old secrets of "${ref.username}"`, (r) => r.retireOthers!(ref, keep));
    }
    if (rotator.removeSecret !== undefined) {
      credentials.removeSecret = (ref, secret) =>
        on(`removing the new secret of "${ref.username}"`, (r) => r.removeSecret!(ref, secret));
    }
    return { ...guarded, credentials };
  }
  return guarded;
}

const TIMED_OUT = Symbol("timed out");

/** `promise`, or a rejection with TIMED_OUT after `seconds`; the timer never outlives the call. */
function within<T>(promise: Promise<T>, seconds: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(TIMED_OUT), seconds * 1000);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}
