import type { AccessExclusion, Assignment } from "../domain/access-types.js";
import { calculatorFor } from "../domain/desired-state.js";
import type { Identity } from "../domain/identity-types.js";
import { isGone } from "../domain/lifecycle.js";
import {
  type CandidateItem,
  candidatesOf,
  createPeerStats,
  type PeerStats,
  peerGroupOf,
  type ReviewAccount,
} from "../domain/review-scope.js";
import type { ReviewDecisionKind, ReviewItemEvidence } from "../domain/review-types.js";
import { roleItems } from "../domain/sod-role-check.js";
import type { TenureConfig } from "../policy/config-types.js";
import { accountRepository } from "../store/account-repository.js";
import { chunk } from "../store/chunk.js";
import { identityRepository } from "../store/identity-repository.js";
import { reviewItemRepository } from "../store/review-repository.js";
import type { Db } from "../store/schema-types.js";
import { sodViolationRepository } from "../store/sod-repository.js";
import { loadDesiredInputs } from "./desired-inputs.js";
import { policyToday } from "./policy-today.js";

/**
 * Effective access of everyone a campaign looks at, read from the store in bulk: identities, their
 * assignments and review exclusions (through the desired-state calculator, so exactly what the plan
 * gives, with lineage), what their enabled accounts hold and when each was last used, open SoD
 * violations, earlier review decisions, and peer statistics over everyone of the same department and
 * title. Reads only; leavers (terminated, deleted) are left out.
 */

/** One identity and every piece of access it holds now. */
export interface ReviewSubject {
  identity: Identity;
  candidates: CandidateItem[];
  /** Its peer group (department and title); null when either is unknown. */
  group: string | null;
}

export interface ReviewAccessData {
  /** The identities reviewed: not gone; those of `identityIds` when given. In id order. */
  subjects: ReviewSubject[];
  peers: PeerStats;
  /** Identities still here by `source|sourceKey`, as read (managers are found in it first). */
  bySourceKey: ReadonlyMap<string, Identity>;
  /** Systems whose connector reports last use: an account there without one was never used. */
  usageSystems: ReadonlySet<string>;
  /** Open SoD violations: identity id → access key → rules. */
  sodRules(identityId: string, accessKey: string): readonly string[];
  /** The last decision on the access of the identity in an earlier campaign. */
  lastReview(identityId: string, accessKey: string): ReviewItemEvidence["lastReview"];
}

const CHUNK = 500;

/** `source|sourceKey`: how HR keys (a manager's `managerId`) find an identity. */
export function sourceKeyOf(source: string, key: string): string {
  return `${source}|${key}`;
}

function group<T>(list: readonly T[], key: (t: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const t of list) {
    const k = key(t);
    const l = out.get(k);
    if (l === undefined) out.set(k, [t]);
    else l.push(t);
  }
  return out;
}

async function chunked<T>(
  ids: readonly string[],
  read: (ids: readonly string[]) => Promise<T[]>,
): Promise<T[]> {
  const out: T[] = [];
  for (const part of chunk(ids, CHUNK)) for (const t of await read(part)) out.push(t);
  return out;
}

/** Everyone to compute access for: the subjects and, for a subset, the people of their peer groups. */
async function population(
  db: Db,
  identityIds: readonly string[] | undefined,
): Promise<{ subjects: Identity[]; everyone: Identity[] }> {
  if (identityIds === undefined) {
    const everyone = (await identityRepository.list(db)).filter((i) => !isGone(i.state));
    return { subjects: everyone, everyone };
  }
  const subjects = [...(await identityRepository.findByIds(db, identityIds)).values()]
    .filter((i) => !isGone(i.state))
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const byId = new Map(subjects.map((i) => [i.id, i]));
  const groups = new Set(subjects.map((i) => peerGroupOf(i.attributes)).filter((g) => g !== null));
  const departments = new Set(
    subjects.filter((i) => peerGroupOf(i.attributes) !== null).map((i) => i.attributes.department!),
  );
  for (const department of departments) {
    for (const peer of await identityRepository.list(db, { department })) {
      if (isGone(peer.state) || byId.has(peer.id)) continue;
      if (groups.has(peerGroupOf(peer.attributes) ?? "")) byId.set(peer.id, peer);
    }
  }
  return { subjects, everyone: [...byId.values()] };
}

function decisionOf(state: string): ReviewDecisionKind | null {
  if (state === "certified" || state === "kept-no-response") return "certify";
  if (state === "revoked" || state === "revoked-no-response") return "revoke";
  return null;
}

/**
 * Reads and computes the effective access of everyone (or of `identityIds`, with their peers for the
 * statistics) at `now`. `withRoles`: role candidates too (a campaign reviewing roles).
 */
export async function loadReviewAccess(
  db: Db,
  config: Pick<TenureConfig, "policy" | "lifecycle" | "sources">,
  now: Date,
  options: { identityIds?: readonly string[]; withRoles: boolean },
): Promise<ReviewAccessData> {
  const { subjects, everyone } = await population(db, options.identityIds);
  const ids = options.identityIds === undefined ? undefined : everyone.map((i) => i.id);
  const subjectIds = options.identityIds === undefined ? undefined : subjects.map((i) => i.id);
  const [inputs, accounts, usageSystems, violations, decisions, managers] = await Promise.all([
    ids === undefined
      ? loadDesiredInputs(db)
      : chunked(ids, async (part) => [await loadDesiredInputs(db, part)]).then((parts) => ({
          assignments: parts.flatMap((p) => p.assignments),
          exclusions: parts.flatMap((p) => p.exclusions),
        })),
    ids === undefined
      ? accountRepository.reviewHoldings(db)
      : chunked(ids, (part) => accountRepository.reviewHoldings(db, { identityIds: part })),
    accountRepository.systemsReportingUse(db),
    sodViolationRepository.open(db, subjectIds === undefined ? {} : { identityIds: subjectIds }),
    reviewItemRepository.lastDecisions(db, subjectIds),
    ids === undefined ? Promise.resolve([]) : managersOf(db, subjects),
  ]);

  const assignments = group<Assignment>(inputs.assignments, (a) => a.identityId);
  const exclusions = group<AccessExclusion>(inputs.exclusions, (e) => e.identityId);
  const held = group<ReviewAccount & { identityId: string }>(accounts, (a) => a.identityId);
  const calculator = calculatorFor(config.policy, config.lifecycle);
  const today = policyToday(config, now);
  const peers = createPeerStats();
  const subjectSet = new Set(subjects.map((i) => i.id));
  const out: ReviewSubject[] = [];
  for (const identity of everyone) {
    const { desired, roles } = calculator.computeWithRoles(
      {
        identity,
        assignments: assignments.get(identity.id) ?? [],
        exclusions: exclusions.get(identity.id) ?? [],
        usernames: {},
        now,
        today,
      },
      { light: true },
    );
    const candidates = candidatesOf({
      policy: config.policy,
      desired,
      roles,
      accounts: held.get(identity.id) ?? [],
      withRoles: options.withRoles,
    });
    const peerGroup = peerGroupOf(identity.attributes);
    peers.add(
      peerGroup,
      candidates.map((c) => c.accessKey),
    );
    if (subjectSet.has(identity.id)) out.push({ identity, candidates, group: peerGroup });
  }

  const bySourceKey = new Map<string, Identity>();
  for (const i of [...everyone, ...managers]) bySourceKey.set(sourceKeyOf(i.source, i.sourceKey), i);

  // identity id → access key → rules: an item is part of a violation when it is one of its sides, or an
  // entitlement a role side grants.
  const sod = new Map<string, Map<string, string[]>>();
  for (const v of violations) {
    let byKey = sod.get(v.identityId);
    if (byKey === undefined) {
      byKey = new Map();
      sod.set(v.identityId, byKey);
    }
    const mark = (key: string) => {
      const rules = byKey!.get(key);
      if (rules === undefined) byKey!.set(key, [v.rule]);
      else if (!rules.includes(v.rule)) rules.push(v.rule);
    };
    for (const side of v.sides) {
      const items = side.item.kind === "role" ? roleItems(config.policy, side.item.role) : [side.item];
      for (const item of items) {
        mark(item.kind === "role" ? `role:${item.role}` : `entitlement:${item.system}:${item.entitlement}`);
      }
    }
  }

  return {
    subjects: out,
    peers,
    bySourceKey,
    usageSystems,
    sodRules: (identityId, accessKey) => sod.get(identityId)?.get(accessKey) ?? [],
    lastReview: (identityId, accessKey) => {
      const d = decisions.get(`${identityId}|${accessKey}`);
      const decision = d === undefined ? null : decisionOf(d.state);
      return d === undefined || decision === null ? null : { campaignId: d.campaignId, decision, at: d.at };
    },
  };
}

/** The managers of `subjects` (by HR key in their source), still here: for a subset's reviewers. */
async function managersOf(db: Db, subjects: readonly Identity[]): Promise<Identity[]> {
  const out: Identity[] = [];
  for (const [source, people] of group(subjects, (i) => i.source)) {
    const keys = people.map((i) => i.attributes.managerId).filter((k): k is string => k !== null);
    if (keys.length === 0) continue;
    for (const m of await identityRepository.listBySourceKeysOrEmails(db, source, keys, [])) {
      if (!isGone(m.state)) out.push(m);
    }
  }
  return out;
}
