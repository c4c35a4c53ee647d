/**
 * Platform roles and what each may do: the one permission table of the HTTP API (docs/api.md
 * "Platform roles": admin, auditor, hr-source, reviewer, requester). Every route declares the permission
 * it needs (`config: { permission }`) or that it is public; the server refuses to start with a
 * route that declares neither, and the auth matrix test checks every route against this table.
 */

import { PLATFORM_ROLE_NAMES } from "../../domain/platform-role-names.js";

/** Everything a route can require. Add one here when a route needs a new kind of access. */
export const PERMISSIONS = [
  // Who am I: every role may ask (the console's first request).
  "session:read",
  "identities:read",
  "systems:read",
  "operations:read",
  "operations:retry",
  "plan:read",
  "sync:run",
  "reconcile:run",
  "audit:read",
  "sources:push",
  // Access requests: see (one's own, waiting for one; all for admin and auditor), ask, decide.
  "requests:read",
  "requests:create",
  "requests:decide",
  // Separation of duties: see rules, violations, exceptions and reports; scan now; accept or revoke
  // an exception (as the rule's owner, or any rule as admin — never one's own violation).
  "sod:read",
  "sod:scan",
  "sod:decide",
  // Access reviews: see campaigns and items (a person their own items; all for admin and auditor),
  // decide and delegate one's items, start and close campaigns.
  "review:read",
  "review:decide",
  "review:manage",
  // Non-human identities: see the inventory and its findings; take ownership passed to oneself (as the
  // pending owner, whatever one's role); sync the inventory and rotate credentials (admin).
  "nhi:read",
  // One NHI by name: all of them with nhi:read, else only one the caller owns, co-owns or must confirm.
  "nhi:owned:read",
  "nhi:confirm",
  "nhi:manage",
  // Monitoring: Prometheus metrics and which dependency is failing (the monitor role: nothing else).
  "metrics:read",
  // Not a route's permission: what a request must also hold to confirm a mass change (admin only).
  "mass-change:confirm",
] as const;
export type Permission = (typeof PERMISSIONS)[number];

export const PLATFORM_ROLES = PLATFORM_ROLE_NAMES;
export type PlatformRole = (typeof PLATFORM_ROLES)[number];

const READ_EVERYTHING: readonly Permission[] = PERMISSIONS.filter((p) => p.endsWith(":read"));

/**
 * The table. admin: everything. auditor: read everything, change nothing. hr-source: push HR records
 * only (the HR push and SCIM routes). Every role may ask who it is (`session:read`). requester: see,
 * ask for and decide access requests as the person it stands for; reviewer: see and decide them.
 */
export const ROLE_PERMISSIONS: Readonly<Record<PlatformRole, ReadonlySet<Permission>>> = Object.freeze({
  admin: new Set<Permission>(PERMISSIONS),
  auditor: new Set<Permission>(READ_EVERYTHING),
  "hr-source": new Set<Permission>(["session:read", "sources:push"]),
  // A reviewer is who owns rules and decides: they see separation-of-duties findings and accept them,
  // and certify or revoke the access review items that are theirs.
  reviewer: new Set<Permission>([
    "session:read",
    "requests:read",
    "requests:decide",
    "sod:read",
    "sod:decide",
    "review:read",
    "review:decide",
    "nhi:read",
    "nhi:owned:read",
    "nhi:confirm",
  ]),
  // A requester is also the manager who approves a report's request: deciding is the identity's
  // business (who is an approver of the step), the role only allows it in kind.
  requester: new Set<Permission>([
    "session:read",
    "requests:read",
    "requests:create",
    "requests:decide",
    "nhi:owned:read",
    "nhi:confirm",
  ]),
  // A monitor is the token Prometheus scrapes with: metrics and dependency health, no personal data.
  monitor: new Set<Permission>(["session:read", "metrics:read"]),
});

export function isPlatformRole(value: string): value is PlatformRole {
  return (PLATFORM_ROLES as readonly string[]).includes(value);
}

/** Whether `role` may do what `permission` guards. An unknown role (a row written by a newer version) may do nothing. */
export function roleAllows(role: string, permission: Permission): boolean {
  return isPlatformRole(role) && ROLE_PERMISSIONS[role].has(permission);
}

/** The roles holding `permission`, for documentation (OpenAPI descriptions, docs/api.md). */
export function rolesWith(permission: Permission): PlatformRole[] {
  return PLATFORM_ROLES.filter((role) => ROLE_PERMISSIONS[role].has(permission));
}
