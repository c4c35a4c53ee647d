import type { AuditConfig } from "../audit/audit-config.js";
import type { Policy } from "../domain/access-types.js";
import type { AttributeName, EmploymentType, HrStatus } from "../domain/identity-types.js";
import type { LifecycleConfig } from "../domain/lifecycle-settings.js";
import type { RequestSettings } from "../domain/request-policy.js";
import type { ReviewPolicy } from "../domain/review-types.js";
import type { NotifyConfig } from "../notify/notify-config.js";
import type { NhiConfig } from "./nhi-config.js";

export type { AuditConfig } from "../audit/audit-config.js";
// The domain owns these; policy re-exports them for the loader and the sections.
export type { AttributeName } from "../domain/identity-types.js";
export type { LifecycleConfig } from "../domain/lifecycle-settings.js";
export type { NotifyConfig } from "../notify/notify-config.js";

/**
 * The parsed, validated, frozen configuration. Produced only by `loadConfig` (policy/config-loader.ts);
 * every path in it is absolute and every `${env:…}` / `${file:…}` reference is resolved.
 */
export interface TenureConfig {
  /** Absolute path of the tenure.yaml this came from. */
  readonly path: string;
  /** Folder of that file; relative paths in the file were resolved against it. */
  readonly baseDir: string;
  /** `sqlite:PATH` (PATH absolute after loading) or `postgres://…`. Default `sqlite:./tenure.db`. */
  readonly database: string;
  readonly sources: Readonly<Record<string, SourceConfig>>;
  readonly lifecycle: LifecycleConfig;
  /**
   * `systems:`, `entitlements:` and `roles:`, compiled and cross-checked: every grant names a
   * configured system and a declared entitlement, every include an existing role, no include cycles,
   * every `when:` rule compiled. Empty records when the file has none of these sections.
   */
  readonly policy: Policy;
  /** `server:`, for `tenure serve`. Every key has a default. */
  readonly server: ServerConfig;
  /** `requests:` — the access request workflow's settings and its workflow-bound elevations. Absent: defaults. */
  readonly requests?: RequestsConfig;
  /**
   * `reviews:` — access review campaigns, mover reviews and dormant-account checks, compiled and
   * cross-checked against the policy. `loadConfig` always sets it (`EMPTY_REVIEW_POLICY` when the file
   * has no such section); absent only in configs built in code, which read it as that empty policy.
   */
  readonly reviews?: ReviewPolicy;
  /** `nhi:` — non-human identities: policy, inventory, discovery (docs/nhi.md). Absent when the file has none. */
  readonly nhi?: NhiConfig;
  /** `notify:` — where alerts go (docs/notifications.md). Absent when the file has none: nothing is sent. */
  readonly notify?: NotifyConfig;
  /** `audit:` — the ledger's signing key and where signed heads are published (docs/audit-verify.md). Absent: neither. */
  readonly audit?: AuditConfig;
}

/** How `tenure serve` listens and runs (tenure.yaml `server:`). */
export interface ServerConfig {
  /** Address to listen on. Default `127.0.0.1` (this machine only). */
  readonly host: string;
  /** TCP port. Default 8080; 0 picks a free one. */
  readonly port: number;
  /** Largest request body accepted, in bytes; larger ones get 413. Default 1 MiB. */
  readonly bodyLimit: number;
  /** Trust X-Forwarded-For from a reverse proxy for the client address. Default false. */
  readonly trustProxy: boolean;
  /** How often the background apply loop looks for due operations; 0 turns it off. Default 5. */
  readonly applyIntervalSeconds: number;
  /**
   * How long `tenure serve` may take to stop after SIGTERM or SIGINT (requests and operations in
   * flight finish first); past it the process exits with code 1 anyway. Default 30.
   */
  readonly shutdownGraceSeconds: number;
  /** Failed authentications allowed per client address per minute; more get 429. Default 10. */
  readonly authFailuresPerMinute: number;
  /** How long a system's health check may take before it counts as unreachable. Default 3000. */
  readonly healthTimeoutMs: number;
  /**
   * How many pushes (SCIM writes, JSON record pushes) this process works on at once; the others wait,
   * those that take access away first. Absent: the store's default (store/person-lock.ts).
   */
  readonly pushConcurrency?: number;
  /** What runs on the clock, without a push (docs/scheduler.md). Every key has a default. */
  readonly schedule: ScheduleConfig;
  /** Tenure's SCIM 2.0 server at `/scim/v2` (docs/scim.md). Absent: no SCIM endpoints are served. */
  readonly scim?: ScimServerConfig;
  /** The web console at `/`: sessions and single sign-on (docs/console.md). Every key has a default. */
  readonly console: ConsoleConfig;
}

/** `server.console`: how people sign in to the web console. */
export interface ConsoleConfig {
  /** How long a console session lasts from sign-in. Default 8. */
  readonly sessionHours: number;
  /**
   * The console's address as people's browsers reach it (e.g. `https://tenure.example.com`): the OpenID
   * Connect redirect goes back to it, and an `https` address makes the session cookie `Secure`. Absent:
   * the address the request came to.
   */
  readonly publicUrl?: string;
  /** Single sign-on through an OpenID Connect provider. Absent: sign-in with an API token only. */
  readonly oidc?: ConsoleOidcConfig;
}

/** `server.console.oidc`: the provider, and how a signed-in person is matched to an identity and a role. */
export interface ConsoleOidcConfig {
  /** The issuer URL; its discovery document is read at start-up. http only on loopback (tests). */
  readonly issuer: string;
  readonly clientId: string;
  /** Usually `${env:…}`. */
  readonly clientSecret: string;
  /** What the sign-in button says: "Sign in with LABEL". Default "single sign-on". */
  readonly label: string;
  readonly scopes: readonly string[];
  /** Which claim names the person, and the identity attribute it must equal (default email ↔ email). */
  readonly match: { readonly claim: string; readonly attribute: "email" | "employeeId" | "id" };
  /**
   * The platform role: the first entry of `roles.map` whose key is a value of the claim `roles.claim`
   * (a string or a list, e.g. groups); else `roles.default`; with neither, sign-in is refused.
   */
  readonly roles: {
    readonly claim: string;
    readonly map: Readonly<Record<string, PlatformRoleName>>;
    readonly default?: PlatformRoleName;
  };
}

/** The platform roles a console sign-in can be given (src/api/auth/platform-roles.ts holds the table). */
export const CONSOLE_ROLES = ["admin", "auditor", "reviewer", "requester"] as const;
export type PlatformRoleName = (typeof CONSOLE_ROLES)[number];

/** Which attribute of a SCIM User is the person's key in the push source (docs/scim.md). */
export const SCIM_KEY_ATTRIBUTES = ["externalId", "employeeNumber", "userName", "id"] as const;
export type ScimKeyAttribute = (typeof SCIM_KEY_ATTRIBUTES)[number];

/** `server.scim`: where SCIM Users go and how they are told apart. */
export interface ScimServerConfig {
  /** The `type: push` source every SCIM User is a record of. */
  readonly source: string;
  /**
   * The User attribute that is the person's key in that source: `externalId` (default), the enterprise
   * `employeeNumber`, `userName`, or `id` (the id Tenure assigns). A User without it is refused.
   */
  readonly key: ScimKeyAttribute;
}

/**
 * `server.schedule`: the scheduler's jobs and their cron patterns (5 fields, or 6 with seconds first;
 * `off` turns a job off), read in `timeZone`.
 */
export interface ScheduleConfig {
  /** Whether `tenure serve` runs the scheduler. Default true. */
  readonly enabled: boolean;
  /** The IANA time zone the patterns are read in. Default `UTC`. */
  readonly timeZone: string;
  /** The lifecycle sweep: date-driven transitions, contractor warnings, provisioning. Default every 5 minutes. */
  readonly lifecycle: string;
  /** Reconcile of each system, unless `systems.<name>.reconcile.schedule` says otherwise. Default hourly. */
  readonly reconcile: string;
  /** Delivery of queued notifications. Default every minute. */
  readonly notify: string;
  /** Alerts about manual tasks past their SLA. Default every 15 minutes. */
  readonly tasks: string;
  /** The full separation-of-duties scan (only when `sod:` has rules). Default daily at 02:30. */
  readonly sod: string;
  /** Evidence alerts: leavers with an enabled account or past the deprovisioning SLA. Default every 15 minutes. */
  readonly alerts?: string;
  /**
   * The access reviews tick: reminders and escalations, closing campaigns at their deadline, mover
   * reviews and dormant-account checks (each campaign's own `schedule` starts it). Default every 5 minutes.
   */
  readonly reviews: string;
  /** The point-in-time access checkpoint (`tenure audit checkpoint`, docs/audit.md). Default daily at 03:15. */
  readonly checkpoint?: string;
  /** How often a process that is not the scheduler leader tries to become it (PostgreSQL). Default 30. */
  readonly leaderRetrySeconds: number;
}

export type SourceConfig = CsvSourceConfig | PushSourceConfig;

/**
 * A source's `maxLength:`, in characters (Unicode code points, after trimming and NFC). A value longer
 * than its attribute's limit refuses the row. The limit of an attribute is its own entry, else `key`
 * for the source's key attribute and managerId (which names a key), else `default`; absent entries are
 * 1024 (`default`) and 256 (`key`).
 */
export type MaxLengths = Readonly<
  { default?: number; key?: number } & Partial<Record<AttributeName, number>>
>;

export interface CsvSourceConfig {
  /** The key under `sources:`. */
  readonly name: string;
  readonly type: "csv";
  /** Absolute path of the CSV file. */
  readonly path: string;
  /** The attribute that identifies a person in this source. Default `employeeId`. */
  readonly key: AttributeName;
  /** Attribute → CSV header. An attribute not listed is read from a header of its own name. */
  readonly columns: Readonly<Partial<Record<AttributeName, string>>>;
  /** Date pattern with tokens YYYY, MM, M, DD, D and any separators. Default `YYYY-MM-DD`. */
  readonly dateFormat: string;
  /** IANA time zone the dates are in, which decides when "today" starts. Default `UTC`. */
  readonly timeZone: string;
  /** Field delimiter, one character. Default `,`. */
  readonly delimiter: string;
  /** What it means when a person of an earlier export is missing from this one. Default `ignore`. */
  readonly missingMeans: "ignore" | "terminate";
  /** Correlation of records to identities: by the key, then optionally by email. Default `none`. */
  readonly correlation: { readonly fallback: "none" | "email" };
  /** Values used where the file has no such column or the cell is empty. */
  readonly defaults: Readonly<{ employmentType?: EmploymentType; status?: HrStatus }>;
  /** Longest accepted value per attribute, in characters; absent: 1024, keys 256 (see MaxLengths). */
  readonly maxLength?: MaxLengths;
}

/**
 * `type: push` — records the HR system sends over HTTP (`POST /api/sources/NAME/records`, or the SCIM
 * server), a few changed people at a time. Mapped and checked like a CSV row; never a complete export,
 * so nobody is terminated for being absent (there is no `missingMeans`).
 */
export interface PushSourceConfig {
  /** The key under `sources:`. */
  readonly name: string;
  readonly type: "push";
  /** The attribute that identifies a person in this source. Default `employeeId`. */
  readonly key: AttributeName;
  /** Attribute → JSON field name. An attribute not listed is read from a field of its own name. */
  readonly columns: Readonly<Partial<Record<AttributeName, string>>>;
  /** Date pattern of the pushed dates, as for csv. Default `YYYY-MM-DD`. */
  readonly dateFormat: string;
  /** IANA time zone the dates are in, which decides when "today" starts. Default `UTC`. */
  readonly timeZone: string;
  /** Correlation of records to identities: by the key, then optionally by email. Default `none`. */
  readonly correlation: { readonly fallback: "none" | "email" };
  /** Values used where a record has no such field or it is empty. */
  readonly defaults: Readonly<{ employmentType?: EmploymentType; status?: HrStatus }>;
  /** Longest accepted value per attribute, in characters; absent: 1024, keys 256 (see MaxLengths). */
  readonly maxLength?: MaxLengths;
}

/** A workflow of `requests.workflows`, compiled. */
export interface WorkflowConfig {
  name: string;
  secret: string;
  role: string;
  maxDurationMs: number;
  format: "generic" | "pagerduty";
  toleranceMs: number;
}

export interface RequestsConfig extends RequestSettings {
  workflows: Readonly<Record<string, WorkflowConfig>>;
}
