import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import type { TenureConfig } from "../policy/config-types.js";
import { closestMatch } from "../shared/did-you-mean.js";
import { TenureError } from "../shared/errors.js";
import type { Store } from "../store/database.js";
import type { OidcSignIn } from "./auth/oidc-sign-in.js";
import type { SessionService } from "./auth/session-service.js";
import type { TokenService } from "./auth/token-service.js";
import type { ServerMetrics } from "./metrics/server-metrics.js";
import type { RunGuard } from "./run-guard.js";

/** What every route module is given: the narrow set of things handlers call into. */
export interface RouteDeps {
  store: Store;
  config: TenureConfig;
  /** The clock: the wall clock, or TENURE_NOW when pinned. */
  now: () => Date;
  runs: RunGuard;
  tokens: Pick<TokenService, "authenticate">;
  /** Console sessions (sign-in, sign-out, one-time links). */
  sessions: SessionService;
  /** Single sign-on, when `server.console.oidc` is configured. */
  oidc: OidcSignIn | null;
  /** This server's Prometheus metrics (`GET /metrics`). */
  metrics: ServerMetrics;
}

/**
 * A route module: a Fastify plugin in src/api/routes/<resource>-routes.ts, registered by its place in
 * src/api/routes/index.ts. Every route in it declares `config: { permission }` or `config: { public: true }`.
 */
export type RouteModule = FastifyPluginAsyncZod<RouteDeps>;

/** Whether `name` is a system of the configuration (own key only: `__proto__` is not a system). */
export function isConfiguredSystem(config: TenureConfig, name: string): boolean {
  return Object.hasOwn(config.policy.systems, name);
}

/** 404 `unknown_system` for a system name (in the path or the body) that tenure.yaml does not configure. */
export function unknownSystem(config: TenureConfig, name: string): TenureError {
  const known = Object.keys(config.policy.systems);
  const suggestion = closestMatch(name, known);
  const hint =
    suggestion !== undefined
      ? ` — did you mean "${suggestion}"?`
      : known.length > 0
        ? ` (systems: ${known.join(", ")})`
        : "";
  return new TenureError("unknown_system", `no system named "${name}"${hint}`, { httpStatus: 404 });
}
