import { describe, expect, it } from "vitest";
import { ConnectorError } from "../connector-types.js";
import { createManualConnector } from "./manual-connector.js";
import { parseManualConnectorConfig } from "./manual-schemas.js";

const ref = { username: "ada.lovelace", nativeId: null };

describe("manual connector", () => {
  const plain = createManualConnector(
    "legacy",
    parseManualConnectorConfig("legacy", { fulfiller: "IT desk" }),
  );

  it("describes a system it cannot read, and does no IO", async () => {
    expect(plain.describe()).toEqual({
      type: "manual",
      system: "legacy",
      disableRefusesUse: false,
      supportsRotation: false,
      readsAccounts: false,
    });
    // Refusing, not an empty list: an empty read would make every account look deleted.
    const read = await plain.listAccounts().catch((err: unknown) => err);
    expect(read).toBeInstanceOf(ConnectorError);
    expect((read as ConnectorError).retryable).toBe(false);
    expect((read as ConnectorError).message).toBe(
      "legacy: a manual system has no API: its accounts cannot be read",
    );
    expect(await plain.listEntitlements()).toEqual([]);
    await plain.close();
    await plain.close();
  });

  it("turns every write into a task for the fulfiller, with the SLA and built-in instructions", async () => {
    const created = await plain.create({
      username: "ada.lovelace",
      attributes: { email: "ada@example.test", displayName: "Ada Lovelace", phone: null },
      enabled: false,
    });
    expect(created.changed).toBe(true);
    expect(created.awaiting).toEqual({
      fulfiller: "IT desk",
      slaHours: 24,
      instructions:
        "Create the account ada.lovelace in legacy, disabled (its owner must not be able to use it yet), with these attributes:\n" +
        "  displayName: Ada Lovelace\n  email: ada@example.test\n  phone: (clear it)\n" +
        "Give its owner the first password directly: never write it in a ticket, a note or to Tenure.",
    });
    expect((await plain.update(ref, { email: "ada@new.test" })).awaiting?.instructions).toBe(
      "Change the account ada.lovelace in legacy:\n  email: ada@new.test",
    );
    expect((await plain.enable(ref)).awaiting?.instructions).toBe(
      "Enable the account ada.lovelace in legacy: its owner may use it again.",
    );
    expect((await plain.disable(ref)).awaiting?.instructions).toMatch(
      /^Disable the account ada\.lovelace in legacy: /,
    );
    expect((await plain.delete(ref)).awaiting?.instructions).toBe(
      "Delete the account ada.lovelace from legacy.",
    );
    expect((await plain.grant(ref, "payroll-admin")).awaiting?.instructions).toBe(
      "Give the account ada.lovelace in legacy the entitlement payroll-admin.",
    );
    expect((await plain.revoke(ref, "payroll-admin")).awaiting?.instructions).toBe(
      "Remove the entitlement payroll-admin from the account ada.lovelace in legacy.",
    );
    expect(plain.rotateCredential).toBeUndefined();
  });

  it("renders configured templates, and adds the application's address to the built-in ones", async () => {
    const connector = createManualConnector(
      "payroll",
      parseManualConnectorConfig("payroll", {
        fulfiller: "payroll-ops@example.test",
        slaHours: 8,
        url: "https://payroll.example.test/admin",
        instructions: {
          create:
            "{displayName} <{email}> joins: create {username} at {url} ({enabled}). {{not a placeholder}}",
          grant: "{fulfiller}: add {username} to {entitlement}",
        },
      }),
    );
    const created = await connector.create({
      username: "ada.lovelace",
      attributes: { displayName: "Ada Lovelace" },
      enabled: true,
    });
    expect(created.awaiting).toEqual({
      fulfiller: "payroll-ops@example.test",
      slaHours: 8,
      instructions:
        "Ada Lovelace <(not set)> joins: create ada.lovelace at https://payroll.example.test/admin (enabled). {not a placeholder}",
    });
    expect((await connector.grant(ref, "approvers")).awaiting?.instructions).toBe(
      "payroll-ops@example.test: add ada.lovelace to approvers",
    );
    expect((await connector.delete(ref)).awaiting?.instructions).toBe(
      "Delete the account ada.lovelace from payroll.\nApplication: https://payroll.example.test/admin",
    );
  });
});
