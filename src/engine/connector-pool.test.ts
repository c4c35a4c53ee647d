import { describe, expect, it } from "vitest";
import { type HangingConnector, hangingConnector } from "../../test/fakes/hanging-connector.js";
import { ConnectorError } from "../connectors/connector-types.js";
import { withDeadlines } from "./connector-pool.js";

/** A factory whose instances hang while `hang` says so, keeping every instance it made. */
function factory(hangFirst: boolean) {
  const made: HangingConnector[] = [];
  return {
    made,
    make: () => {
      const c = hangingConnector("crm", hangFirst && made.length === 0);
      made.push(c);
      return c;
    },
  };
}

describe("withDeadlines (every connector call has its system's deadline)", () => {
  it("abandons a write past its deadline with a retryable error, and replaces the connection", async () => {
    const f = factory(true);
    const connector = withDeadlines("crm", f.make, { timeoutSeconds: 0.05, readTimeoutSeconds: 10 });
    expect(f.made).toHaveLength(1);

    const err = await connector.create({ username: "ada", attributes: {}, enabled: true }).catch((e) => e);
    expect(err).toBeInstanceOf(ConnectorError);
    expect(err).toMatchObject({ system: "crm", kind: "unreachable", retryable: true });
    expect(err.message).toContain('create of "ada" got no answer within 0.05 s (systems.crm.timeoutSeconds)');
    // The hung instance is closed and dropped; the next call runs on a fresh one.
    expect(f.made[0]!.closed).toBe(true);
    await expect(connector.grant({ username: "ada" }, "staff")).resolves.toEqual({ changed: true });
    expect(f.made).toHaveLength(2);
    expect(f.made[1]!.calls).toBe(1);
    expect(f.made[1]!.closed).toBe(false);
  });

  it("gives full reads their own, longer deadline", async () => {
    const f = factory(true);
    const connector = withDeadlines("crm", f.make, { timeoutSeconds: 10, readTimeoutSeconds: 0.05 });
    await expect(connector.listAccounts()).rejects.toThrow(
      "listing accounts got no answer within 0.05 s (systems.crm.readTimeoutSeconds)",
    );
    expect(f.made[0]!.closed).toBe(true);
  });

  it("passes a connector's own failure through and keeps its connection", async () => {
    const f = factory(false);
    const connector = withDeadlines(
      "crm",
      () => {
        const c = f.make();
        c.create = () => Promise.reject(new ConnectorError("crm", "invalid", "no such column"));
        return c;
      },
      { timeoutSeconds: 1, readTimeoutSeconds: 1 },
    );
    await expect(connector.create({ username: "ada", attributes: {}, enabled: true })).rejects.toThrow(
      "crm: no such column",
    );
    await expect(connector.enable({ username: "ada" })).resolves.toEqual({ changed: true });
    expect(f.made).toHaveLength(1);
    expect(f.made[0]!.closed).toBe(false);
  });
});
