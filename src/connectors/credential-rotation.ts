import { type Connector, ConnectorError, type CredentialRotator } from "./connector-types.js";
import { generatePassword } from "./password-sink.js";
import { createWebhookRotator, type WebhookRotatorConfig } from "./webhook/webhook-rotation.js";

// Where the credential rotation of a system comes from (issue 17, item 4). The capability itself,
// `CredentialRotator`, is declared beside `Connector` in connector-types.ts; each connector's part is in
// its folder: postgres-rotation.ts, mariadb-rotation.ts, ldap-rotation.ts (OpenLDAP), webhook-rotation.ts.

export type { CredentialRotator } from "./connector-types.js";

/** A new secret: 32 URL-safe characters (192 bits), the connectors' generated-password strength. */
export function generateSecret(): string {
  return generatePassword();
}

/** Where systems' connectors come from (the engine's connector pool satisfies it). */
export interface ConnectorSource {
  get(system: string): Connector;
}

/**
 * The rotator of `system`: its rotation webhook when `webhookRotators` names one (it wins over the
 * connector), else its connector's `credentials`.
 * @throws ConnectorError (`invalid`) when neither can rotate, saying what to configure.
 */
export function rotatorFor(
  system: string,
  sources: {
    connectors: ConnectorSource;
    webhookRotators?: Readonly<Record<string, WebhookRotatorConfig>> | undefined;
  },
): CredentialRotator {
  const hook = sources.webhookRotators?.[system];
  if (hook !== undefined) return createWebhookRotator(system, hook);
  const connector = sources.connectors.get(system);
  if (connector.credentials !== undefined) return connector.credentials;
  throw new ConnectorError(
    system,
    "invalid",
    `cannot rotate credentials: the ${connector.describe().type} connector cannot set and verify a secret ` +
      `(postgres, mariadb and OpenLDAP can); configure nhi.rotation.webhookRotators.${system} for a webhook that does`,
    { retryable: false },
  );
}
