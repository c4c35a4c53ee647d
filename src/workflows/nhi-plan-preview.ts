import type { Identity } from "../domain/identity-types.js";
import { isGone } from "../domain/lifecycle.js";
import { nhiAccountRef } from "../domain/nhi-account.js";
import {
  type ForecastNhi,
  type ForecastPerson,
  forecastNhiDisables,
  leavingInstant,
  type NhiDisableForecast,
} from "../domain/nhi-disable-forecast.js";
import type { OwnerLeavePolicy } from "../domain/nhi-types.js";
import { leavingDate } from "../domain/retention.js";
import { connectorPool } from "../engine/connector-pool.js";
import type { TenureConfig } from "../policy/config-types.js";
import { accountRepository } from "../store/account-repository.js";
import { identityRepository } from "../store/identity-repository.js";
import { nhiAccountHoldRepository } from "../store/nhi-account-hold-repository.js";
import { nhiRepository } from "../store/nhi-repository.js";
import type { Db } from "../store/schema-types.js";
import type { Store } from "../store/store-types.js";
import { systemFactsFrom } from "./nhi-disable.js";
import { managerOf } from "./request-approvers.js";

/**
 * `tenure plan --at T`'s preview of owner succession (docs/nhi.md "Previewing disables"): the NHIs that
 * would be disabled by T and their accounts, decided by domain/nhi-disable-forecast.ts from what the store
 * holds now — the NHIs, their owners and pending owners, each person's leaving date as HR dates it, their
 * successors (manager, else `onOwnerLeave.fallback`), the holds and the accounts. Reads only; changes nothing.
 * Empty when tenure.yaml has no `nhi.policy`. With `system`, only the NHIs of that system (as `plan --system`).
 */
export async function previewNhiDisables(
  store: Store,
  config: TenureConfig,
  now: Date,
  by: Date,
  system?: string,
): Promise<NhiDisableForecast[]> {
  const policy = config.nhi?.policy;
  if (policy === undefined) return [];
  const { db } = store;
  const nhis = await nhiRepository.list(db, { live: true });
  if (nhis.length === 0) return [];
  const holds = new Map((await nhiAccountHoldRepository.list(db)).map((h) => [h.nhiId, h]));
  const refs = nhis.flatMap((n) => {
    const ref = nhiAccountRef(n);
    return ref === null ? [] : [ref];
  });
  const accounts = new Map(
    (await accountRepository.findMany(db, refs)).map((a) => [`${a.system}\u0000${a.username}`, a]),
  );
  const people = await peopleOf(
    db,
    nhis.flatMap((n) => [n.ownerId, n.pendingOwnerId]).filter((id): id is string => id !== null),
    policy.onOwnerLeave,
    config,
  );
  const pool = connectorPool(config);
  try {
    const facts = systemFactsFrom(config, pool);
    const input: ForecastNhi[] = nhis.map((nhi) => {
      const ref = nhiAccountRef(nhi);
      const row = ref === null ? undefined : accounts.get(`${ref.system}\u0000${ref.username}`);
      return {
        nhi,
        system: ref === null ? null : facts(ref.system),
        account:
          row === undefined
            ? null
            : {
                nativeId: row.nativeId,
                identityId: row.identityId,
                enabled: row.enabled,
                gone: (row.vanishedAt ?? null) !== null,
              },
        hold: holds.get(nhi.id) ?? null,
      };
    });
    const all = forecastNhiDisables({ nhis: input, people, policy: policy.onOwnerLeave, now }, by);
    return system === undefined ? all : all.filter((d) => d.system === system);
  } finally {
    await pool.closeAll();
  }
}

/**
 * When a person is gone: already (since their state changed), or when their HR leaving date begins in their
 * source's time zone, as the lifecycle terminates them (leavingInstant); null: not known.
 */
function leavesAt(
  person: Identity,
  config: Pick<TenureConfig, "sources">,
): Pick<ForecastPerson, "leavesAt" | "leavesOn"> {
  if (isGone(person.state)) return { leavesAt: person.stateSince };
  // The zone provisioning's `plan --at` advances the identity in (engine/provision.ts): its source's, else UTC.
  const zone = config.sources[person.source]?.timeZone ?? "UTC";
  const at = leavingInstant(person.attributes, zone);
  const on = leavingDate(person.attributes)?.date;
  return at === null || on === undefined ? { leavesAt: null } : { leavesAt: at.toISOString(), leavesOn: on };
}

/**
 * Everyone ownership could pass through, from the owners and pending owners on: each with their leaving date
 * and, for those who leave, their successor as succession finds it (workflows/nhi-succession.ts): the
 * manager still here, else the fallback still here.
 */
async function peopleOf(
  db: Db,
  start: readonly string[],
  rule: Pick<OwnerLeavePolicy, "passTo" | "fallback">,
  config: Pick<TenureConfig, "sources">,
): Promise<Map<string, ForecastPerson>> {
  const out = new Map<string, ForecastPerson>();
  const fallback = rule.fallback === null ? undefined : await identityRepository.resolve(db, rule.fallback);
  const fallbackId = fallback === undefined || isGone(fallback.state) ? null : fallback.id;
  let wave = [...new Set(start)];
  while (wave.length > 0) {
    const found = await identityRepository.findByIds(
      db,
      wave.filter((id) => !out.has(id)),
    );
    const next: string[] = [];
    for (const person of found.values()) {
      const leaving = leavesAt(person, config);
      let successorId: string | null = null;
      if (leaving.leavesAt !== null) {
        const manager = rule.passTo === "manager" ? await managerOf(db, person) : undefined;
        successorId = manager !== undefined && manager.id !== person.id ? manager.id : fallbackId;
        if (successorId === person.id) successorId = null;
      }
      out.set(person.id, { key: person.sourceKey, ...leaving, successorId });
      if (successorId !== null && !out.has(successorId)) next.push(successorId);
    }
    wave = next.filter((id) => !out.has(id));
  }
  return out;
}
