import {
  type AccountRef,
  type AccountSpec,
  type Connector,
  ConnectorError,
  type WriteResult,
} from "../connector-types.js";
import {
  compileInstructions,
  type InstructionTemplate,
  MANUAL_KINDS,
  type ManualConnectorConfig,
  type ManualKind,
  PLACEHOLDERS,
  renderInstructions,
} from "./manual-schemas.js";

/** The built-in text of each kind's tasks; `instructions.<kind>` replaces it. */
export const DEFAULT_INSTRUCTIONS: Readonly<Record<ManualKind, string>> = {
  create:
    "Create the account {username} in {system}, {enabled}, with these attributes:\n{attributes}\n" +
    "Give its owner the first password directly: never write it in a ticket, a note or to Tenure.",
  update: "Change the account {username} in {system}:\n{attributes}",
  enable: "Enable the account {username} in {system}: its owner may use it again.",
  disable:
    "Disable the account {username} in {system}: it must no longer let anyone sign in (end its open " +
    "sessions if the application can). Do not delete it.",
  delete: "Delete the account {username} from {system}.",
  grant: "Give the account {username} in {system} the entitlement {entitlement}.",
  revoke: "Remove the entitlement {entitlement} from the account {username} in {system}.",
};

/**
 * A connector for an application with no API: every write becomes a task for a person (`fulfiller`),
 * returned as `awaiting` with instructions rendered from the operation; the engine keeps the operation
 * open until someone marks the task done (`tenure tasks done`). It does no IO at all.
 *
 * - `readsAccounts: false`: `listAccounts` throws rather than return an empty list, which would make
 *   every account look deleted; reconcile skips the system, and plans use the accounts Tenure recorded
 *   when tasks were done. `listEntitlements` is empty (entitlements are declared in tenure.yaml).
 * - Idempotency is the engine's: one open operation per change, one task per operation. The connector
 *   itself cannot know what the application holds, so it never answers `changed: false`.
 * - Instructions never contain secrets: an operation carries none, and the built-in create text tells
 *   the fulfiller to hand the first password over directly.
 */
export function createManualConnector(system: string, config: ManualConnectorConfig): Connector {
  const templates = Object.fromEntries(
    MANUAL_KINDS.map((kind) => {
      const written = config.instructions[kind];
      const source =
        written ?? DEFAULT_INSTRUCTIONS[kind] + (config.url === undefined ? "" : "\nApplication: {url}");
      const compiled = compileInstructions(source, PLACEHOLDERS[kind]);
      // The loader checked the configured ones; a built-in one failing is a bug here.
      if (typeof compiled === "string") throw new Error(`manual ${kind} instructions: ${compiled}`);
      return [kind, compiled];
    }),
  ) as Record<ManualKind, InstructionTemplate>;

  const task = (kind: ManualKind, ref: AccountRef, extra: Record<string, string> = {}): WriteResult => ({
    changed: true,
    awaiting: {
      instructions: renderInstructions(templates[kind], {
        system,
        username: ref.username,
        fulfiller: config.fulfiller,
        ...(config.url === undefined ? {} : { url: config.url }),
        ...extra,
      }),
      fulfiller: config.fulfiller,
      slaHours: config.slaHours,
    },
  });

  return {
    describe: () => ({
      type: "manual",
      system,
      // Whether the person's disable refuses use is up to them and the application.
      disableRefusesUse: false,
      supportsRotation: false,
      readsAccounts: false,
    }),
    listAccounts: () =>
      Promise.reject(
        new ConnectorError(system, "invalid", "a manual system has no API: its accounts cannot be read", {
          retryable: false,
        }),
      ),
    listEntitlements: () => Promise.resolve([]),
    create: async (account: AccountSpec) =>
      task("create", account, {
        ...attributeValues(account.attributes),
        enabled: account.enabled ? "enabled" : "disabled (its owner must not be able to use it yet)",
      }),
    update: async (ref, attributes) => task("update", ref, attributeValues(attributes)),
    enable: async (ref) => task("enable", ref),
    disable: async (ref) => task("disable", ref),
    delete: async (ref) => task("delete", ref),
    grant: async (ref, entitlement) => task("grant", ref, { entitlement }),
    revoke: async (ref, entitlement) => task("revoke", ref, { entitlement }),
    close: () => Promise.resolve(),
  };
}

/** `{attributes}` as `name: value` lines (a null value is to be cleared), `{displayName}` and `{email}` alone. */
function attributeValues(attributes: Readonly<Record<string, string | null>>): Record<string, string> {
  const entries = Object.entries(attributes).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const lines = entries.map(([name, value]) => `  ${name}: ${value ?? "(clear it)"}`);
  const values: Record<string, string> = { attributes: lines.length === 0 ? "  (none)" : lines.join("\n") };
  for (const name of ["displayName", "email"]) {
    const value = attributes[name];
    if (typeof value === "string") values[name] = value;
  }
  return values;
}
