import type { Account as TargetAccount } from "../connectors/connector-types.js";
import type { ConnectorPool } from "../engine/provision.js";

/**
 * Reading the targets back after a review's revocation (the closed loop of review-removal.ts), as an
 * assignment's end does (assignment-ends.ts): each system a removal touched is listed once per pass,
 * and each piece of access is looked up on the holder's account.
 */

/**
 * `gone`: the target does not show it; `present`: it still does; `unreadable`: reading the system
 * failed; `unconfirmable`: the system cannot be read back at all (a manual or webhook connector).
 */
export interface TargetCheck {
  outcome: "gone" | "present" | "unreadable" | "unconfirmable";
  detail?: string;
}

/**
 * Reads each system named in `wanted` (once), and returns the lookup of one piece: an entitlement of
 * an account, or (entitlement null) the account itself, gone when missing or disabled. A holder with
 * no account in the system (username null) holds nothing there.
 */
export async function readBack(
  pool: ConnectorPool,
  wanted: readonly { system: string; username: string | null }[],
): Promise<(system: string, username: string | null, entitlement: string | null) => TargetCheck> {
  const reads = new Map<string, Map<string, TargetAccount> | TargetCheck>();
  for (const system of new Set(wanted.filter((w) => w.username !== null).map((w) => w.system))) {
    try {
      const connector = pool.get(system);
      if (!connector.describe().readsAccounts) {
        reads.set(system, { outcome: "unconfirmable", detail: `${system} cannot be read back` });
        continue;
      }
      const accounts = await connector.listAccounts();
      reads.set(system, new Map(accounts.map((a) => [a.username.toLowerCase(), a])));
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      reads.set(system, { outcome: "unreadable", detail: `could not read ${system}: ${message}` });
    }
  }
  return (system, username, entitlement) => {
    if (username === null) return { outcome: "gone" };
    const read = reads.get(system);
    if (read === undefined) return { outcome: "unreadable", detail: `${system} was not read` };
    if (!(read instanceof Map)) return read;
    const account = read.get(username.toLowerCase());
    const present =
      account !== undefined &&
      (entitlement === null ? account.enabled : account.entitlements.includes(entitlement));
    return { outcome: present ? "present" : "gone" };
  };
}
