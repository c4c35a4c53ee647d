import type { Policy } from "../domain/access-types.js";
import type { Identity } from "../domain/identity-types.js";
import { isGone } from "../domain/lifecycle.js";
import type { RerouteReason, ReviewAccess, ReviewerRule } from "../domain/review-types.js";
import { identityRepository } from "../store/identity-repository.js";
import type { Db } from "../store/schema-types.js";
import { managerOf } from "./request-approvers.js";

/**
 * Who reviews a piece of access. Nobody reviews their own access, through any path: when the rule
 * names the holder (a manager of themselves, the owner of their own entitlement, a named reviewer who
 * is the holder), the item goes to the holder's manager instead; when that fails too, to nobody (an
 * admin assigns one) — never back to the holder.
 */

export interface ReviewerChoice {
  reviewerId: string | null;
  /** Who the rule named, when the item goes to someone else. */
  ruleReviewerId: string | null;
  rerouteReason: RerouteReason | null;
}

/** Resolves people named in tenure.yaml (or by HR key), remembering each answer for one pass. */
export interface PeopleCache {
  resolve(ref: string): Promise<Identity | undefined>;
  managerOf(person: Identity): Promise<Identity | undefined>;
}

export function peopleCache(db: Db): PeopleCache {
  const refs = new Map<string, Promise<Identity | undefined>>();
  const managers = new Map<string, Promise<Identity | undefined>>();
  return {
    resolve(ref) {
      let found = refs.get(ref);
      if (found === undefined) {
        found = identityRepository
          .resolve(db, ref)
          .then((i) => (i === undefined || isGone(i.state) ? undefined : i));
        refs.set(ref, found);
      }
      return found;
    },
    managerOf(person) {
      const key = `${person.source}|${person.attributes.managerId ?? ""}`;
      let found = managers.get(key);
      if (found === undefined) {
        found = managerOf(db, person);
        managers.set(key, found);
      }
      return found;
    },
  };
}

/** The owner the configuration gives the access (its entitlement's, or its role's), if any. */
export function accessOwner(policy: Policy, access: ReviewAccess): string | null {
  if (access.kind === "role") return policy.roles[access.role]?.owner ?? null;
  return policy.entitlements[access.system]?.[access.entitlement]?.owner ?? null;
}

/** The system's owner, for entitlement items; null for roles. */
export function systemOwner(policy: Policy, access: ReviewAccess): string | null {
  return access.kind === "entitlement" ? (policy.systems[access.system]?.owner ?? null) : null;
}

async function named(
  rule: ReviewerRule,
  holder: Identity,
  access: ReviewAccess,
  policy: Policy,
  people: PeopleCache,
): Promise<Identity | undefined> {
  switch (rule.kind) {
    case "manager":
    case "nhi-owner": {
      // A service identity's owner is its `managerId`, as the NHI inventory records it: the HR key of a
      // person in another source (the NHI's own source is `nhi`), so it is resolved across sources.
      if (holder.kind !== "service") return people.managerOf(holder);
      const owner = holder.attributes.managerId;
      return owner === null ? undefined : people.resolve(owner);
    }
    case "access-owner": {
      const ref = accessOwner(policy, access);
      return ref === null ? undefined : people.resolve(ref);
    }
    case "system-owner": {
      const ref = systemOwner(policy, access);
      return ref === null ? undefined : people.resolve(ref);
    }
    case "person":
      return people.resolve(rule.person);
  }
}

/** The reviewer of `access` held by `holder` under `rule`, rerouted away from the holder. */
export async function chooseReviewer(
  rule: ReviewerRule,
  holder: Identity,
  access: ReviewAccess,
  policy: Policy,
  people: PeopleCache,
): Promise<ReviewerChoice> {
  const reviewer = await named(rule, holder, access, policy, people);
  if (reviewer !== undefined && reviewer.id !== holder.id) {
    return { reviewerId: reviewer.id, ruleReviewerId: null, rerouteReason: null };
  }
  if (reviewer === undefined) return { reviewerId: null, ruleReviewerId: null, rerouteReason: "no-reviewer" };
  // The rule named the holder: their manager decides.
  const manager = await people.managerOf(holder);
  if (manager !== undefined && manager.id !== holder.id) {
    return { reviewerId: manager.id, ruleReviewerId: holder.id, rerouteReason: "self-review" };
  }
  return { reviewerId: null, ruleReviewerId: holder.id, rerouteReason: "no-reviewer" };
}

/**
 * Who takes an item over from `current` (escalation): `current`'s manager, unless that is the holder
 * (then the holder's manager's manager is not guessed: nobody, and an admin assigns one).
 */
export async function escalationTarget(
  current: Identity,
  holder: Identity,
  people: PeopleCache,
): Promise<Identity | undefined> {
  const manager = await people.managerOf(current);
  if (manager === undefined || manager.id === holder.id) return undefined;
  return manager;
}
