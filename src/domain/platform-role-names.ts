/**
 * The platform roles' names (admin, auditor, hr-source, reviewer, requester, monitor): what a token or a console
 * session is allowed to do in kind. The API's permission table (api/auth/platform-roles.ts) is built
 * over this list; the config names them too (an approval step of `platformRole: admin`), and sits below
 * the API, so the list lives here.
 */
export const PLATFORM_ROLE_NAMES = [
  "admin",
  "auditor",
  "hr-source",
  "reviewer",
  "requester",
  "monitor",
] as const;
