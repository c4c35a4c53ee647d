import type { Policy } from "../domain/access-types.js";
import type { Identity } from "../domain/identity-types.js";
import { isGone } from "../domain/lifecycle.js";
import {
  type ApprovalStepDef,
  DEFAULT_REQUEST_SETTINGS,
  type RequestableDef,
} from "../domain/request-policy.js";
import type { ApprovalStep, RequestItem } from "../domain/request-types.js";
import type { RequestsConfig, TenureConfig } from "../policy/config-types.js";
import { apiTokenRepository } from "../store/api-token-repository.js";
import { identityRepository } from "../store/identity-repository.js";
import type { Db } from "../store/schema-types.js";

/** The configuration of a requestable item, and who owns it, for resolving its steps. */
export interface ItemPolicy {
  item: RequestItem;
  requestable: RequestableDef;
  /** What a person reads: `role db-admin`, `db:admins`. */
  label: string;
  owner: string | null;
  systemOwners: string[];
  elevation: boolean;
}

/** The requestable settings of `item`, or why it cannot be requested (a message naming it). */
export function itemPolicy(policy: Policy, item: RequestItem): ItemPolicy | string {
  if (item.kind === "role") {
    const role = Object.hasOwn(policy.roles, item.role) ? policy.roles[item.role] : undefined;
    if (role === undefined) return `no role named '${item.role}' exists (any more)`;
    if (role.requestable === null) return `role '${item.role}' is not requestable`;
    const systems = new Set(role.grants.map((g) => g.system));
    return {
      item,
      requestable: role.requestable,
      label: `role ${item.role}`,
      owner: role.owner ?? null,
      systemOwners: [...systems].flatMap((s) => policy.systems[s]?.owner ?? []),
      elevation: role.elevation === true,
    };
  }
  const entitlements = Object.hasOwn(policy.entitlements, item.system)
    ? policy.entitlements[item.system]
    : undefined;
  const def =
    entitlements && Object.hasOwn(entitlements, item.entitlement)
      ? entitlements[item.entitlement]
      : undefined;
  if (def === undefined)
    return `no entitlement '${item.entitlement}' is declared for system '${item.system}' (any more)`;
  if (!def.requestable) return `entitlement ${item.system}:${item.entitlement} is not requestable`;
  return {
    item,
    requestable: def.requestable,
    label: `${item.system}:${item.entitlement}`,
    owner: def.owner,
    systemOwners: policy.systems[item.system]?.owner ? [policy.systems[item.system]!.owner!] : [],
    elevation: false,
  };
}

/** What resolving steps needs to read, given at submission. */
export interface ApproverContext {
  db: Db;
  now: Date;
  beneficiary: Identity;
  requester: Identity;
  /** `requests.fallbackApprovers`: who decides a step nobody else can. */
  fallback: readonly string[];
}

/**
 * The approval steps of a request for `items`, each resolved to the identities who may decide it now:
 * the steps of every item in order (a step two items share — same approvers, same count — once).
 * The requester and the beneficiary are removed from every step, whatever role they hold; so are people
 * who have left. A step left with fewer people than it needs takes the fallback approvers; if it still
 * cannot be decided, the request is refused with the reason (a string).
 */
export async function resolveSteps(
  items: readonly ItemPolicy[],
  ctx: ApproverContext,
): Promise<ApprovalStep[] | string> {
  const steps: ApprovalStep[] = [];
  const seen = new Set<string>();
  for (const item of items) {
    for (const def of item.requestable.approval) {
      const approvers = await approversOf(def, item, ctx);
      const key = `${approvers.join(",")}|${def.required}`;
      if (seen.has(key)) continue;
      seen.add(key);
      let people = approvers;
      if (people.length < def.required) {
        const fallback = await resolveRefs(ctx.fallback, ctx);
        people = [...new Set([...people, ...fallback])];
      }
      if (people.length < def.required) {
        return `nobody can decide the step '${def.name}' of ${item.label} for ${ctx.beneficiary.attributes.displayName}: it needs ${def.required} approver${def.required === 1 ? "" : "s"} other than the requester and the beneficiary, and ${people.length === 0 ? "there are none" : `there ${people.length === 1 ? "is" : "are"} only ${people.length}`} (requests.fallbackApprovers names who decides then)`;
      }
      steps.push({
        name: def.name === "owner" ? `owner of ${item.label}` : def.name,
        approvers: people,
        required: def.required,
      });
    }
  }
  return steps;
}

async function approversOf(def: ApprovalStepDef, item: ItemPolicy, ctx: ApproverContext): Promise<string[]> {
  const spec = def.approvers;
  let ids: string[];
  switch (spec.kind) {
    case "manager": {
      const manager = await managerOf(ctx.db, ctx.beneficiary);
      ids = manager === undefined ? [] : [manager.id];
      break;
    }
    case "owner":
      ids = await resolveRefs(item.owner === null ? [] : [item.owner], ctx);
      break;
    case "system-owner":
      ids = await resolveRefs(item.systemOwners, ctx);
      break;
    case "identities":
      ids = await resolveRefs(spec.refs, ctx);
      break;
    case "platform-role": {
      const holders = await apiTokenRepository.identitiesWithRole(ctx.db, spec.role, ctx.now.toISOString());
      const found = await identityRepository.findByIds(ctx.db, holders);
      ids = [...found.values()].filter((i) => !isGone(i.state)).map((i) => i.id);
      break;
    }
  }
  // Nobody decides their own access: not as manager of themselves, not as owner, not through a role.
  const parties = new Set([ctx.beneficiary.id, ctx.requester.id]);
  return [...new Set(ids)].filter((id) => !parties.has(id)).sort();
}

/** `requests:` of the configuration, or its defaults for a configuration built without it. */
export function requestSettings(config: Pick<TenureConfig, "requests">): RequestsConfig {
  return config.requests ?? { ...DEFAULT_REQUEST_SETTINGS, workflows: {} };
}

/** A person's manager (their `managerId` in the same source) while the manager has not left. */
export async function managerOf(db: Db, person: Identity): Promise<Identity | undefined> {
  const key = person.attributes.managerId;
  if (key === null) return undefined;
  const [manager] = await identityRepository.listBySourceKeysOrEmails(db, person.source, [key], []);
  return manager === undefined || isGone(manager.state) ? undefined : manager;
}

/** People named by email, HR key or id, who are still here, less the requester and the beneficiary. */
async function resolveRefs(refs: readonly string[], ctx: ApproverContext): Promise<string[]> {
  const out: string[] = [];
  for (const ref of refs) {
    const identity = await identityRepository.resolve(ctx.db, ref);
    if (identity !== undefined && !isGone(identity.state)) out.push(identity.id);
  }
  const parties = new Set([ctx.beneficiary.id, ctx.requester.id]);
  return out.filter((id) => !parties.has(id));
}
