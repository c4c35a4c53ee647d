/** What an enabled account of an identity holds, read narrowly for separation-of-duties scans and reviews. */
export interface HeldEntitlements {
  identityId: string;
  system: string;
  username: string;
  entitlements: string[];
  /** Whether Tenure granted `key` (else it was added in the system directly). */
  isManaged(key: string): boolean;
}

/** The columns of an account row that {@link StoredHoldings} reads (its entitlements already parsed). */
export interface HoldingsRow {
  identityId: string;
  system: string;
  username: string;
  entitlements: string[];
  /** The stored JSON text of the entitlements Tenure granted. */
  managedText: string;
  lastUsedAt: string | null;
}

/**
 * What an enabled account holds, as the store reads it, with the JSON text of the entitlements Tenure
 * granted: each key is a quoted string in that text, so finding it quoted is finding it, without parsing
 * a list per account (a key holding an escaped quote could match another's tail). A class, so that
 * `isManaged` is one method and not a closure per account: a campaign's load holds a quarter of a
 * million accounts. `lastUsedAt`: as the connector reported it (null when unknown or never).
 */
export class StoredHoldings implements HeldEntitlements {
  readonly identityId: string;
  readonly system: string;
  readonly username: string;
  readonly entitlements: string[];
  readonly lastUsedAt: string | null;
  readonly #managed: string;

  constructor(row: HoldingsRow) {
    this.identityId = row.identityId;
    this.system = row.system;
    this.username = row.username;
    this.entitlements = row.entitlements;
    this.lastUsedAt = row.lastUsedAt;
    this.#managed = row.managedText;
  }

  isManaged(key: string): boolean {
    return this.#managed.includes(JSON.stringify(key));
  }
}

/** An account row's holdings (`entitlements` and `managed_entitlements` as stored: JSON texts). */
export function holdingsOfRow(r: {
  identity_id: string | null;
  system: string;
  username: string;
  entitlements: string;
  managed_entitlements: string;
  last_used_at?: string | null;
}): StoredHoldings {
  return new StoredHoldings({
    // Rows read for holdings are those of an identity (`identity_id is not null` in their query).
    identityId: r.identity_id!,
    system: r.system,
    username: r.username,
    entitlements: JSON.parse(r.entitlements) as string[],
    managedText: r.managed_entitlements,
    lastUsedAt: r.last_used_at ?? null,
  });
}
