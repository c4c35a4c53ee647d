/**
 * An account's holdings as the store reads them: `isManaged` finds a key only as a whole quoted string
 * of the managed entitlements' JSON text (not as a part of another key), and is one method shared by
 * every account, not a function of each.
 */
import { describe, expect, it } from "vitest";
import { holdingsOfRow } from "./held-account.js";

describe("holdings read from an account row", () => {
  const row = {
    identity_id: "i1",
    system: "erp",
    username: "ada",
    entitlements: JSON.stringify(["read", "payments", 'say "hi"', "added-there"]),
    managed_entitlements: JSON.stringify(["read", "payments", 'say "hi"']),
  };

  it("tells the entitlements Tenure granted from those added in the system, by whole key", () => {
    const held = holdingsOfRow(row);
    expect(held.entitlements).toEqual(["read", "payments", 'say "hi"', "added-there"]);
    expect(held.entitlements.map((e) => held.isManaged(e))).toEqual([true, true, true, false]);
    // A part of a granted key is not granted.
    expect([held.isManaged("pay"), held.isManaged("ments"), held.isManaged("say")]).toEqual([
      false,
      false,
      false,
    ]);
    expect(held.lastUsedAt).toBeNull();
    expect(holdingsOfRow({ ...row, last_used_at: "2026-12-01T00:00:00.000Z" }).lastUsedAt).toBe(
      "2026-12-01T00:00:00.000Z",
    );
  });

  it("shares one isManaged between accounts and keeps the managed text out of its enumerable fields", () => {
    const a = holdingsOfRow(row);
    const b = holdingsOfRow({ ...row, identity_id: "i2" });
    expect(a.isManaged).toBe(b.isManaged);
    expect(Object.keys(a).sort()).toEqual(["entitlements", "identityId", "lastUsedAt", "system", "username"]);
  });
});
