/**
 * A connected system that fails answers 502 or 503 with the system's name and whether to retry, never
 * a 500 "internal error": the errors come from real connectors, one against a loopback port where
 * nothing listens, one against MariaDB with a wrong password.
 */

import { describe, expect, it } from "vitest";
import { freePort } from "../../test/helpers/net.js";
import { CONNECTOR_TYPES } from "../connectors/connector-registry.js";
import { ConnectorError } from "../connectors/connector-types.js";
import { toApiError } from "./api-errors.js";
import { toScimError } from "./scim/scim-server-errors.js";

const PASSWORD = "not-the-password-123";
const users = { table: "app_users", id: "id", username: "login", enabled: { column: "active" } };
const memberships = { table: "app_user_groups", user: "user_id", group: "group_name" };

async function failureOf(system: string, url: string): Promise<unknown> {
  const type = CONNECTOR_TYPES.sql!;
  const config = type.schema.parse({ url, users, memberships } as never);
  const connector = type.create(system, config);
  try {
    await connector.listAccounts();
    return undefined;
  } catch (err) {
    return err;
  } finally {
    await connector.close?.();
  }
}

describe("a failed system through the API's one error mapping", () => {
  it("answers 503 system_unreachable, retryable, for a system nobody answers for", async () => {
    const err = await failureOf("billing", `postgres://tenure:${PASSWORD}@127.0.0.1:${await freePort()}/x`);
    expect(err).toBeInstanceOf(ConnectorError);
    const mapped = toApiError(err, "req-1");
    expect(mapped.status).toBe(503);
    expect(mapped.internal).toBe(false);
    expect(mapped.headers["retry-after"]).toBe("60");
    expect(mapped.body.error).toMatchObject({
      code: "system_unreachable",
      system: "billing",
      retryable: true,
    });
    expect(mapped.body.error.message).toMatch(/^billing: /);
    expect(JSON.stringify(mapped)).not.toContain(PASSWORD);
    const scim = toScimError(err, "req-1");
    expect(scim.status).toBe(503);
    expect(JSON.stringify(scim)).not.toContain(PASSWORD);
  });

  it("answers 502, not retryable, for a system that refuses the credentials", async () => {
    const err = await failureOf("crm", `mysql://root:${PASSWORD}@127.0.0.1:3306/test`);
    expect(err).toBeInstanceOf(ConnectorError);
    const mapped = toApiError(err, "req-2");
    expect(mapped.status).toBe(502);
    expect(mapped.body.error).toMatchObject({ code: "system_auth_failed", system: "crm", retryable: false });
    expect(mapped.headers["retry-after"]).toBeUndefined();
    expect(JSON.stringify(mapped)).not.toContain(PASSWORD);
  });
});
