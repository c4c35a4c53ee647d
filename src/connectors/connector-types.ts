import { TenureError } from "../shared/errors.js";
/**
 * The one interface every target system implements (docs/architecture.md "Contracts").
 *
 * Contract, for every implementation:
 * - Every write is idempotent: creating an account that exists with the same username, granting an
 *   entitlement already held, revoking one not held, deleting an absent account all succeed and
 *   report `changed: false`.
 * - A connector never decides policy: it does exactly the operation asked, nothing more.
 * - Failures throw `ConnectorError`; `retryable` says whether trying again later can help
 *   (unreachable server, timeout, 5xx, lock contention) or not (bad credentials, permission denied,
 *   invalid data). Messages name the system and the cause and never contain secrets.
 * - Calls on one connector instance may run concurrently; an implementation that cannot do that
 *   serialises internally.
 */
export interface Connector {
  describe(): ConnectorDescription;
  /** Every account in the system with its entitlements (memberships). */
  listAccounts(): Promise<Account[]>;
  /** Every grantable thing the system knows (groups, roles). */
  listEntitlements(): Promise<EntitlementInfo[]>;
  create(account: AccountSpec): Promise<WriteResult>;
  update(ref: AccountRef, attributes: Record<string, string | null>): Promise<WriteResult>;
  enable(ref: AccountRef): Promise<WriteResult>;
  disable(ref: AccountRef): Promise<WriteResult>;
  delete(ref: AccountRef): Promise<WriteResult>;
  grant(ref: AccountRef, entitlement: string): Promise<WriteResult>;
  revoke(ref: AccountRef, entitlement: string): Promise<WriteResult>;
  rotateCredential?(ref: AccountRef): Promise<WriteResult>;
  /**
   * Rotation of a non-human identity's credential with a secret the caller generated and delivered
   * (see {@link CredentialRotator}); absent where the connector cannot set and verify one.
   */
  readonly credentials?: CredentialRotator;
  /** Releases connections. Safe to call twice. */
  close(): Promise<void>;
}

/**
 * Rotation of a non-human identity's credential (issue 17, item 4): the connector's part. The workflow
 * (`workflows/nhi-rotation.ts`, with `credential-rotation.ts`) generates the secret, delivers it to the sink, then calls these in order:
 * `setSecret`, `verify`, and on a target that `holdsTwo`, `retireOthers` — or `removeSecret` when
 * `verify` failed, so the old credential stays the one in force.
 *
 * This is a capability of its own, beside `Connector.rotateCredential` (a rehire's new generated
 * password, delivered by the connector itself): here the caller owns the secret and the order of steps.
 *
 * Contract, for every implementation:
 * - The secret is sent to the target only in the form the target needs (a SCRAM verifier, a salted hash,
 *   a bind), and never appears in a thrown error, a log or a result: errors are `ConnectorError`s whose
 *   messages were masked of it.
 * - `setSecret` changes nothing when it throws before reaching the target (an unknown, unmanaged or
 *   disabled account is refused first). On a target that holds one credential it replaces it; on one
 *   that `holdsTwo` it adds the new one beside the old.
 * - `verify` is a real login (a connection, a bind) as the account with `secret`, and changes nothing.
 * - Calls for one account are not run concurrently by the workflow (one rotation per NHI at a time).
 */
export interface CredentialRotator {
  /**
   * Whether the target keeps the old credential working beside the new one until `retireOthers` (LDAP's
   * multi-valued userPassword). False: `setSecret` replaces it (PostgreSQL, MariaDB).
   */
  readonly holdsTwo: boolean;
  /** Sets `secret` as the account's (new) credential. */
  setSecret(ref: AccountRef, secret: string): Promise<void>;
  /** Logs in as the account with `secret`; throws `ConnectorError` (kind `auth` when refused) if it fails. */
  verify(ref: AccountRef, secret: string): Promise<void>;
  /** holdsTwo only: removes every credential of the account but `keep`. */
  retireOthers?(ref: AccountRef, keep: string): Promise<void>;
  /** holdsTwo only: removes `secret` again (a new credential that failed `verify`), keeping the others. */
  removeSecret?(ref: AccountRef, secret: string): Promise<void>;
}

/** How a system's policy asks its connector to behave (tenure.yaml `systems.<name>`). */
export interface ConnectorOptions {
  /** `createMissingGroups`: a grant of a group that does not exist creates it. Default false. */
  createMissingGroups?: boolean;
  /**
   * The system's `concurrency`: how many of its calls run at once. A connector that keeps connections
   * between calls keeps this many unless its own configuration says otherwise (`keptConnections`: the
   * ldap and sql connectors). Default 8. The postgres and mariadb connectors write one call at a time
   * (an account's checks and changes must not interleave) and keep 4 for their reads.
   */
  concurrency?: number;
}

/** The most connections a connector keeps between calls when its own configuration does not say. */
const MAX_KEPT = 64;

/**
 * How many connections a connector that keeps them between calls keeps: the system's `concurrency`
 * (default 8), at most 64. Kept fewer than the calls that run at once, the calls past them wait for one
 * (a pool) or connect and disconnect each time.
 */
export function keptConnections(options: Pick<ConnectorOptions, "concurrency">): number {
  return Math.min(MAX_KEPT, options.concurrency ?? 8);
}

export interface ConnectorDescription {
  /** The connector type, e.g. `sql`, `ldap`. */
  type: string;
  /** The system name from tenure.yaml, used in messages. */
  system: string;
  /** Whether `disable` makes the target refuse use (login, bind) rather than only flag the account. */
  disableRefusesUse: boolean;
  supportsRotation: boolean;
  /**
   * Whether `listAccounts` reads the system. False for a system with no API (`manual`): reconcile does
   * not read it (an empty read would make every account look vanished), and plans are made against the
   * accounts Tenure itself recorded when its operations completed.
   */
  readsAccounts: boolean;
}

/** How an operation names the account it acts on. `nativeId` is used when known, else `username`. */
export interface AccountRef {
  username: string;
  nativeId?: string | null;
}

export interface AccountSpec {
  username: string;
  /** Mapped attributes (e.g. email, displayName); keys are the connector's configured attribute names. */
  attributes: Record<string, string | null>;
  /** Accounts may be created disabled (pre-hire). */
  enabled: boolean;
}

export interface Account {
  nativeId: string;
  username: string;
  enabled: boolean;
  attributes: Record<string, string | null>;
  /** Entitlement keys the account holds in this system. */
  entitlements: string[];
  /** Last use, where the system records it (ISO-8601). */
  lastUsedAt?: string | null;
}

export interface EntitlementInfo {
  key: string;
  displayName?: string | null;
}

export interface WriteResult {
  /** False when the system already matched (idempotent no-op). */
  changed: boolean;
  /** The system's id of the account, when the operation learned it (create). */
  nativeId?: string | null;
  /**
   * Set when the connector did not make the change but handed it to a person (`manual`): the change
   * is not done yet. The engine then keeps the operation open in state `awaiting` (it still holds back
   * the identity's later operations in the system and its idempotency key), records a task for the
   * fulfiller, and changes no account until the task is marked done — so the audit shows when the change
   * really happened. `changed` is meaningless with it. A connector returns it only from writes, never
   * throws after deciding to, and may return it again for the same operation (a re-run after a crash):
   * the engine keeps one task per operation.
   */
  awaiting?: AwaitingTask;
}

/** The work a person must do to carry out one operation, as a connector describes it. */
export interface AwaitingTask {
  /** What to do, complete on its own (the person sees only this): plain text, free of secrets. */
  instructions: string;
  /** Who does it: a person or a team (a name or an email address), as configured. */
  fulfiller: string;
  /** How long they have (the system's SLA), in hours: the task is overdue after it. */
  slaHours: number;
}

export class ConnectorError extends TenureError {
  readonly system: string;
  readonly retryable: boolean;
  readonly kind: "unreachable" | "auth" | "permission" | "invalid" | "conflict" | "not_found" | "other";

  constructor(
    system: string,
    kind: ConnectorError["kind"],
    message: string,
    options: { retryable?: boolean; cause?: unknown } = {},
  ) {
    const retryable = options.retryable ?? (kind === "unreachable" || kind === "conflict");
    // A system that failed is upstream of Tenure: 503 when trying again later may work, 502 when the
    // system refused or answered wrongly. Never a 500: Tenure itself did nothing wrong.
    super(CONNECTOR_ERROR_CODES[kind], `${system}: ${message}`, {
      httpStatus: retryable ? 503 : 502,
      cause: options.cause,
    });
    this.name = "ConnectorError";
    this.system = system;
    this.kind = kind;
    this.retryable = retryable;
  }
}

/** The API error code of each kind of connector failure (docs/api.md). */
const CONNECTOR_ERROR_CODES: Record<ConnectorError["kind"], string> = {
  unreachable: "system_unreachable",
  auth: "system_auth_failed",
  permission: "system_permission_denied",
  invalid: "system_rejected",
  conflict: "system_conflict",
  not_found: "system_not_found",
  other: "system_error",
};
