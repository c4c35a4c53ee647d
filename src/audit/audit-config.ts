// audit/ owns the types of tenure.yaml's `audit:` section, as notify/ owns `notify:`'s; the schema is
// src/policy/sections/audit-section.ts and policy/ composes it.

/** `audit:` after loading. */
export interface AuditConfig {
  /** The key ledger heads are signed with. Absent: heads are not signed and nothing is published. */
  readonly signing?: AuditSigningConfig;
  /** Where signed heads go, and when. Absent: heads are published only by `tenure audit publish`. */
  readonly publish?: AuditPublishConfig;
}

export interface AuditSigningConfig {
  /** A PKCS#8 PEM Ed25519 private key (a secret: written as `${file:…}`); the public key is derived. */
  readonly key: string;
}

export interface AuditPublishConfig {
  /** Cron pattern of the `audit-publish` job (read in server.schedule.timeZone), or `off`. Default hourly. */
  readonly schedule: string;
  /** Every sink gets every head; one failing does not hold the others back. */
  readonly to: readonly HeadSinkConfig[];
}

/** One place a signed head is published to. */
export type HeadSinkConfig =
  | {
      readonly kind: "file" /** Absolute path; appended to as JSON Lines, mode 0600. */;
      readonly path: string;
    }
  | {
      readonly kind: "webhook";
      /** POSTed to; may hold a token, so it is a secret and messages show only its origin. */
      readonly url: string;
      /** Signs each request as notify's webhooks do (`Tenure-Signature`); null: unsigned. */
      readonly secret: string | null;
      readonly timeoutSeconds: number;
    }
  | {
      readonly kind: "email" /** Addresses the head is mailed to, through the notification outbox. */;
      readonly to: readonly string[];
    };
