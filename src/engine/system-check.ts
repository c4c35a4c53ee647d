import { ConnectorError } from "../connectors/connector-types.js";
import type { TenureConfig } from "../policy/config-types.js";
import { connectorPool } from "./connector-pool.js";

/** What checking one system found, in words. */
export interface SystemCheck {
  system: string;
  connector: string;
  /** `ok`: reachable, authenticated, allowed to read; `failed`: one of those is not so; `skipped`: no API. */
  result: "ok" | "failed" | "skipped";
  /** The step that failed, when one did. */
  failedAt?: "connect" | "authenticate" | "read";
  /** What was checked and found, or why it failed (no secret: connector messages are redacted). */
  detail: string;
}

const READ_ONLY =
  "reachable, authenticated, and allowed to read its groups; write permission is not checked (that would mean writing)";

/**
 * Connects to each system with its configured credentials and reads its entitlements — the lightest
 * read every connector has — changing nothing. A failure says which step failed, from the kind of the
 * connector's error: unreachable (connect), credentials refused (authenticate), not allowed or
 * misconfigured (read).
 */
export async function checkSystems(config: TenureConfig, names: readonly string[]): Promise<SystemCheck[]> {
  const pool = connectorPool(config);
  try {
    return await Promise.all(
      names.map(async (system): Promise<SystemCheck> => {
        const connector = config.policy.systems[system]!.connector;
        try {
          const open = pool.get(system);
          if (!open.describe().readsAccounts) {
            return {
              system,
              connector,
              result: "skipped",
              detail: "no API to connect to: a person carries out its changes",
            };
          }
          const entitlements = await open.listEntitlements();
          return { system, connector, result: "ok", detail: `${READ_ONLY} (${entitlements.length} found)` };
        } catch (err) {
          const kind = err instanceof ConnectorError ? err.kind : "other";
          const message = err instanceof Error ? err.message : String(err);
          const failedAt = kind === "unreachable" ? "connect" : kind === "auth" ? "authenticate" : "read";
          const words = {
            connect: "not reachable",
            authenticate: "reachable, but the credentials were refused",
            read: "connected, but reading failed",
          }[failedAt];
          return { system, connector, result: "failed", failedAt, detail: `${words}: ${message}` };
        }
      }),
    );
  } finally {
    await pool.closeAll();
  }
}
