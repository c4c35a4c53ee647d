import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import type { TenureConfig } from "../policy/config-types.js";
import type { Store } from "../store/database.js";
import type { RunGuard } from "./run-guard.js";

/** What every route module is given: the narrow set of things handlers call into. */
export interface RouteDeps {
  store: Store;
  config: TenureConfig;
  /** The clock: the wall clock, or TENURE_NOW when pinned. */
  now: () => Date;
  runs: RunGuard;
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
