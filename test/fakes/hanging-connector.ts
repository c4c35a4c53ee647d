import type { Connector, WriteResult } from "../../src/connectors/connector-types.js";

/**
 * A connector standing for a system that stops answering: while `hangs` is true its calls never settle,
 * as on a connection to a frozen server. Otherwise writes succeed. `closed` records whether `close` was
 * called. (The real case, a slapd stopped with SIGSTOP, is test/integration/frozen-system.test.ts.)
 */
export interface HangingConnector extends Connector {
  hangs: boolean;
  closed: boolean;
  /** Calls started on this instance. */
  calls: number;
}

export function hangingConnector(system: string, hangs: boolean): HangingConnector {
  const never = new Promise<never>(() => {});
  const answer = <T>(value: T): Promise<T> => {
    c.calls++;
    return c.hangs ? never : Promise.resolve(value);
  };
  const done: WriteResult = { changed: true };
  const c: HangingConnector = {
    hangs,
    closed: false,
    calls: 0,
    describe: () => ({
      type: "fake",
      system,
      disableRefusesUse: false,
      supportsRotation: false,
      readsAccounts: true,
    }),
    listAccounts: () => answer([]),
    listEntitlements: () => answer([]),
    create: () => answer(done),
    update: () => answer(done),
    enable: () => answer(done),
    disable: () => answer(done),
    delete: () => answer(done),
    grant: () => answer(done),
    revoke: () => answer(done),
    async close() {
      c.closed = true;
    },
  };
  return c;
}
