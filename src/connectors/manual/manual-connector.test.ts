import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { tempDir } from "../../../test/helpers/workspace.js";
import { loadConfig } from "../../policy/config-loader.js";
import { ConnectorError } from "../connector-types.js";
import { createManualConnector } from "./manual-connector.js";
import { type ManualConnectorConfig, parseManualConnectorConfig } from "./manual-schemas.js";

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

describe("docs/connectors.md, manual section", () => {
  it("has an example that loads and renders the task text it shows", async () => {
    const doc = await readFile(
      fileURLToPath(new URL("../../../docs/connectors.md", import.meta.url)),
      "utf8",
    );
    const section = doc.slice(doc.indexOf("### Example: a payroll portal"));
    const yaml = /```yaml\n([\s\S]*?)```/.exec(section)?.[1] ?? "";
    const shown = /```console\n[^\n]*\n[^\n]*\n((?: {4}[^\n]*\n)+)/.exec(section)?.[1] ?? "";
    const { dir, dispose } = await tempDir("tenure-manual-doc-");
    try {
      await writeFile(path.join(dir, "tenure.yaml"), yaml);
      const config = await loadConfig(path.join(dir, "tenure.yaml"), { env: {} });
      const payroll = config.policy.systems.payroll!;
      const connector = createManualConnector("payroll", payroll.connectorConfig as ManualConnectorConfig);
      const created = await connector.create({
        username: "ann.lee",
        attributes: { displayName: "Ann Lee", email: "ann.lee@example.com" },
        enabled: true,
      });
      expect(created.awaiting).toMatchObject({ fulfiller: "payroll-ops@example.com", slaHours: 8 });
      // The console shows the instructions indented by four spaces, wrapped where the text has a line break.
      expect(`${created.awaiting?.instructions.trimEnd()}\n`).toBe(shown.replace(/^ {4}/gm, ""));
    } finally {
      await dispose();
    }
  });
});
