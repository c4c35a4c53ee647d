import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ConnectorError } from "../connector-types.js";
import { createSqlConnector } from "./sql-connector.js";
import { parseSqlConnectorConfig } from "./sql-schemas.js";

// Behaviour against real databases is in test/integration/sql-connector.test.ts; these are the parts
// that need no schema.
const config = (url: string) =>
  parseSqlConnectorConfig("app", {
    url,
    users: { table: "users", id: "id", username: "login", enabled: { column: "active" } },
    memberships: { table: "user_groups", user: "user_id", group: "group_name" },
  });

describe("createSqlConnector", () => {
  it("describes an sql connector whose disable does not itself refuse logins", () => {
    const connector = createSqlConnector("app", config("sqlite:/nonexistent/app.db"));
    expect(connector.describe()).toEqual({
      type: "sql",
      system: "app",
      disableRefusesUse: false,
      supportsRotation: false,
      readsAccounts: true,
    });
  });

  it("opens nothing until first used, and close is safe twice, even unused", async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), "tenure-sql-unit-"));
    const file = path.join(dir, "app.db");
    const connector = createSqlConnector("app", config(`sqlite:${file}`));
    await expect(fs.access(file)).rejects.toThrow();
    await connector.close();
    await connector.close();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it("does not create a missing SQLite file: it is a retryable unreachable error", async () => {
    const file = path.join(os.tmpdir(), `tenure-absent-${process.pid}.db`);
    const connector = createSqlConnector("app", config(`sqlite:${file}`));
    const err = await connector.listAccounts().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectorError);
    expect(err).toMatchObject({ kind: "unreachable", retryable: true, system: "app" });
    expect((err as Error).message).toBe(
      `app: list accounts failed on sqlite:${file} (SQLITE_CANTOPEN: unable to open database file)`,
    );
    await expect(fs.access(file)).rejects.toThrow();
    await connector.close();
  });
});
