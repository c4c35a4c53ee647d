import type { AccessExclusion, Assignment } from "../domain/access-types.js";
import { calculatorFor } from "../domain/desired-state.js";
import type { Identity } from "../domain/identity-types.js";
import { type PlanAllResult, planAllSteps } from "../domain/plan-all.js";
import type { TenureConfig } from "../policy/config-types.js";
import { accountLinkRepository, accountRepository } from "../store/account-repository.js";
import type { Store } from "../store/database.js";
import { loadDesiredInputs } from "./desired-inputs.js";
import { createPause, drainSteps } from "./give-way.js";
import { policyToday, sodExceptionsInForce } from "./provision.js";

/** Names tried at once for a new username: the base and base2 … base10 (suffix collisions). */
const SUFFIXES_PER_READ = 10;

/**
 * Plans `identities` — as given, so a caller plans the identities it is about to write — against the
 * actual state, exactly as the full plan (`computeProvisionPlan`) would plan them, but reading only
 * what their plan depends on: their own accounts, links and assignments; the accounts holding the
 * usernames linked to them (a username held by someone else is a problem, not a create); and, for
 * each username still to allocate, whether the base and its suffixed forms are taken. Never the whole
 * organisation, so planning one person costs the same in a directory of a hundred or a million.
 *
 * Returns only these identities' operations, problems and allocated usernames (orphans are the full
 * plan's business). Reads only.
 */
export async function planIdentities(
  store: Pick<Store, "db">,
  config: TenureConfig,
  identities: readonly Identity[],
  now: Date,
): Promise<PlanAllResult> {
  if (identities.length === 0) return { operations: [], problems: [], allocated: new Map() };
  const { db } = store;
  const ids = identities.map((i) => i.id);
  const planned = new Set(ids);
  const [own, linkRows, { assignments, exclusions, dormant }] = await Promise.all([
    accountRepository.list(db, { identityIds: ids }),
    accountLinkRepository.list(db, { identityIds: ids }),
    loadDesiredInputs(db, ids),
  ]);
  const links = new Map<string, Record<string, string>>();
  for (const l of linkRows) links.set(l.identityId, { ...links.get(l.identityId), [l.system]: l.username });

  // What planAll takes as each identity's usernames: its links, overridden by its live accounts.
  const usernamesOf = new Map<string, Record<string, string>>();
  const live = new Set<string>();
  for (const identity of identities) usernamesOf.set(identity.id, { ...links.get(identity.id) });
  for (const a of own) {
    if (a.identityId === null) continue;
    const usernames = usernamesOf.get(a.identityId)!;
    if (!a.vanishedAt) live.add(`${a.identityId}\u0000${a.system}`);
    if (!Object.hasOwn(usernames, a.system) || !a.vanishedAt) usernames[a.system] = a.username;
  }

  // A linked username with no live account of its own may be held by another account.
  const held: { system: string; username: string }[] = [];
  for (const [identityId, usernames] of usernamesOf) {
    for (const [system, username] of Object.entries(usernames)) {
      if (!live.has(`${identityId}\u0000${system}`)) held.push({ system, username });
    }
  }
  const others = (await accountRepository.findMany(db, held)).filter(
    (a) => a.identityId === null || !planned.has(a.identityId),
  );

  const taken = await takenUsernames(store, config, identities, usernamesOf, assignments, exclusions, now);
  // planAll avoids every username in `links`: the taken ones ride along under keys no identity has.
  for (const [system, names] of taken) {
    let n = 0;
    for (const name of names) links.set(`\u0000taken\u0000${system}\u0000${n++}`, { [system]: name });
  }

  const result = await drainSteps(
    planAllSteps({
      policy: config.policy,
      lifecycle: config.lifecycle,
      identities,
      assignments,
      exclusions,
      dormant,
      accounts: [...own, ...others],
      links,
      now,
      today: policyToday(config, now),
      sodExceptions: await sodExceptionsInForce(
        store.db,
        config,
        now,
        identities.map((i) => i.id),
      ),
    }),
  );
  const mine = (identityId: string | null) => identityId !== null && planned.has(identityId);
  return {
    operations: result.operations.filter((op) => mine(op.identityId)),
    problems: result.problems.filter((p) => mine(p.identityId)),
    allocated: result.allocated,
  };
}

/**
 * For each system where one of `identities` needs a username it does not have yet, the usernames
 * already used (by an account or a link) among those its allocation could pick: the rendered base and
 * its suffixed forms, read ten at a time until one is free.
 */
async function takenUsernames(
  store: Pick<Store, "db">,
  config: TenureConfig,
  identities: readonly Identity[],
  usernamesOf: ReadonlyMap<string, Readonly<Record<string, string>>>,
  assignments: readonly Assignment[],
  exclusions: readonly AccessExclusion[],
  now: Date,
): Promise<Map<string, Set<string>>> {
  const systems = Object.keys(config.policy.systems);
  const calculator = calculatorFor(config.policy, config.lifecycle);
  const today = policyToday(config, now);
  // system → base → how many identities want a name from it (each needs a free one).
  const bases = new Map<string, Map<string, number>>();
  const pause = createPause();
  for (const identity of identities) {
    await pause();
    const usernames = usernamesOf.get(identity.id) ?? {};
    if (systems.every((s) => Object.hasOwn(usernames, s))) continue;
    const desired = calculator.compute({
      identity,
      assignments: assignments.filter((a) => a.identityId === identity.id),
      exclusions: exclusions.filter((e) => e.identityId === identity.id),
      usernames,
      now,
      today,
    });
    // planAll plans nothing for an identity whose rule failed: it needs no name.
    if (desired.ruleFailures !== undefined) continue;
    for (const [system, wanted] of Object.entries(desired.systems)) {
      if (Object.hasOwn(usernames, system) || wanted.presence === "absent" || !wanted.username) continue;
      const wants = bases.get(system) ?? new Map<string, number>();
      bases.set(system, wants.set(wanted.username, (wants.get(wanted.username) ?? 0) + 1));
    }
  }
  const taken = new Map<string, Set<string>>();
  for (const [system, wants] of bases) {
    const used = new Set<string>();
    // planAll tries base, base2, base3 …: read on until there is a free name for everyone wanting one.
    // Every base still short is read in the same round (one read for a whole group of pushed people).
    let short = [...wants].map(([base, wanting]) => ({ base, wanting, free: 0 }));
    for (let first = 1; short.length > 0; first += SUFFIXES_PER_READ) {
      const candidatesOf = short.map(({ base }) =>
        Array.from({ length: SUFFIXES_PER_READ }, (_, i) => (first + i === 1 ? base : `${base}${first + i}`)),
      );
      const found = await usedAmong(store, system, [...new Set(candidatesOf.flat())]);
      for (const name of found) used.add(name);
      for (const [i, want] of short.entries()) {
        want.free += candidatesOf[i]!.filter((name) => !found.has(name)).length;
      }
      short = short.filter((want) => want.free < want.wanting);
    }
    taken.set(system, used);
  }
  return taken;
}

async function usedAmong(store: Pick<Store, "db">, system: string, names: string[]): Promise<Set<string>> {
  const [accounts, linked] = await Promise.all([
    accountRepository.findMany(
      store.db,
      names.map((username) => ({ system, username })),
    ),
    accountLinkRepository.takenAmong(store.db, system, names),
  ]);
  for (const a of accounts) linked.add(a.username);
  return linked;
}
