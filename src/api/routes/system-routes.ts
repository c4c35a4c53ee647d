import { z } from "zod";
import type { Account } from "../../domain/access-types.js";
import { lastReconcileBySystem } from "../../engine/access-queries.js";
import { connectorPool } from "../../engine/provision.js";
import { accountRepository } from "../../store/account-repository.js";
import { isConfiguredSystem, type RouteDeps, type RouteModule, unknownSystem } from "../route-types.js";
import { systemNameParams, systemSchema } from "../schemas/system-schemas.js";
import { checkHealth } from "../system-health.js";

type SystemView = z.output<typeof systemSchema>;

/** Accounts, orphans and drift of one system, from the accounts Tenure knows (as reconcile counts them). */
function countAccounts(accounts: readonly Account[]): SystemView["counts"] {
  let live = 0;
  let orphans = 0;
  let drift = 0;
  for (const a of accounts) {
    if (a.vanishedAt !== null) {
      if (a.managed) drift++;
      continue;
    }
    live++;
    if (a.identityId === null) {
      orphans++;
      continue;
    }
    const managed = new Set(a.managedEntitlements);
    const held = new Set(a.entitlements);
    for (const e of held) if (!managed.has(e)) drift++;
    for (const e of managed) if (!held.has(e)) drift++;
  }
  return { accounts: live, orphans, drift };
}

async function describeSystems(deps: RouteDeps, names: readonly string[]): Promise<SystemView[]> {
  const pool = connectorPool(deps.config);
  try {
    const [last, health, accounts] = await Promise.all([
      lastReconcileBySystem(deps.store, names),
      Promise.all(names.map((name) => checkHealth(() => pool.get(name), deps.config.server.healthTimeoutMs))),
      Promise.all(names.map((name) => accountRepository.list(deps.store.db, { system: name }))),
    ]);
    return names.map((name, i) => {
      const def = deps.config.policy.systems[name]!;
      return {
        name,
        connector: def.connector,
        owner: def.owner,
        policy: { drift: def.drift, orphans: def.orphans },
        health: health[i]!,
        lastReconcile: last[name] ?? null,
        counts: countAccounts(accounts[i]!),
      };
    });
  } finally {
    // A check that timed out is abandoned here: closing the connector ends its connection.
    await pool.closeAll();
  }
}

/** Connected systems: health, last reconcile, drift and orphan counts. */
export const systemRoutes: RouteModule = async (app, deps) => {
  const tags = ["systems"];

  app.get(
    "/api/systems",
    {
      config: { permission: "systems:read" },
      schema: {
        summary: "Every configured system with its health, last reconcile, and drift and orphan counts",
        tags,
        response: { 200: z.object({ items: z.array(systemSchema) }) },
      },
    },
    async () => ({ items: await describeSystems(deps, Object.keys(deps.config.policy.systems)) }),
  );

  app.get(
    "/api/systems/:name",
    {
      config: { permission: "systems:read" },
      schema: {
        summary: "One system with its health, last reconcile, and drift and orphan counts",
        tags,
        params: systemNameParams,
        response: { 200: systemSchema },
      },
    },
    async (request) => {
      const { name } = request.params;
      if (!isConfiguredSystem(deps.config, name)) throw unknownSystem(deps.config, name);
      const [system] = await describeSystems(deps, [name]);
      return system!;
    },
  );
};
