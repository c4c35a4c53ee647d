import type { AccessExclusion } from "../domain/access-types.js";
import { calculatorFor } from "../domain/desired-state.js";
import type { Identity } from "../domain/identity-types.js";
import { isGone } from "../domain/lifecycle.js";
import {
  type CandidateItem,
  candidatesOf,
  createAccessKeys,
  createPeerStats,
  type PeerStats,
  peerGroupOf,
} from "../domain/review-scope.js";
import type { ReviewDecisionKind, ReviewItemEvidence } from "../domain/review-types.js";
import { roleItems } from "../domain/sod-role-check.js";
import type { TenureConfig } from "../policy/config-types.js";
import { accountRepository } from "../store/account-repository.js";
import { chunk } from "../store/chunk.js";
import { identityRepository } from "../store/identity-repository.js";
import { reviewExclusionRepository } from "../store/review-exclusion-repository.js";
import { type PagesFilter, reviewPopulationRepository } from "../store/review-population-repository.js";
import type { ReviewPopulationRow } from "../store/review-population-rows.js";
import { reviewItemRepository } from "../store/review-repository.js";
import type { Db } from "../store/schema-types.js";
import { sodViolationRepository } from "../store/sod-repository.js";
import { policyToday } from "./policy-today.js";

/**
 * Effective access of everyone a campaign looks at, read from the store 5,000 identities at a time (one
 * row per identity, store/review-population-repository.ts): identities, their assignments and review
 * exclusions (through the desired-state calculator, so exactly what the plan
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

/** Identities read and computed at a time by default: bounds what is held besides the items kept. */
const PAGE = 5_000;
/** Identities computed between two turns of the event loop (see `take`). */
const YIELD_ROWS = 250;
/** Identity ids bound per `in (…)` list. */
const ID_LIST = 500;

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

/**
 * Every identity still here, or (a subset) the subjects, one page at a time in id order; each next page
 * is read while the current one is computed (store/review-population-repository.ts, `pages`).
 */
async function* populationPages(
  db: Db,
  identityIds: readonly string[] | undefined,
  limit: number,
  part: IdRange | undefined,
): AsyncGenerator<ReviewPopulationRow[]> {
  // Everyone: many pages, read beside the compute (a subset's few pages are read in line).
  const streams: PagesFilter[] =
    identityIds === undefined
      ? [{ limit, ...(part === undefined ? {} : { from: part.after, through: part.through }) }]
      : chunk(identityIds, ID_LIST).map((ids) => ({ limit, identityIds: ids }));
  for (const filter of streams) {
    const pages = reviewPopulationRepository.pages(db, filter, { parallel: identityIds === undefined });
    try {
      for (let rows = await pages.next(); rows !== null; rows = await pages.next()) yield rows;
    } finally {
      await pages.close();
    }
  }
}

/** The departments of `subjects` that have a peer group, and those groups. */
async function peerDepartments(
  db: Db,
  identityIds: readonly string[],
): Promise<{ departments: string[]; groups: Set<string> }> {
  const departments = new Set<string>();
  const groups = new Set<string>();
  for (const i of (await identityRepository.findByIds(db, identityIds)).values()) {
    if (isGone(i.state)) continue;
    const g = peerGroupOf(i.attributes);
    if (g === null) continue;
    groups.add(g);
    departments.add(i.attributes.department!);
  }
  return { departments: [...departments], groups };
}

async function* peerPages(
  db: Db,
  departments: readonly string[],
  limit: number,
): AsyncGenerator<ReviewPopulationRow[]> {
  if (departments.length === 0) return;
  for (const part of chunk(departments, ID_LIST)) {
    const first = { after: null, limit, identityIds: [], departments: part };
    let after: string | null = null;
    for (;;) {
      const rows = await reviewPopulationRepository.page(db, { ...first, after });
      if (rows.length > 0) yield rows;
      if (rows.length < limit) break;
      after = rows[rows.length - 1]!.identity.id;
    }
  }
}

function decisionOf(state: string): ReviewDecisionKind | null {
  if (state === "certified") return "certify";
  if (state === "revoked") return "revoke";
  return null;
}

/** A part of everyone by id: the identities after `after` (null: from the first) up to `through` (null: to the last). */
export interface IdRange {
  after: string | null;
  through: string | null;
}

/** Which subjects and candidates the caller keeps: everything when absent. */
export interface ReviewAccessSelection {
  /** Whether the identity is looked at all (a campaign's `identityInScope`); asked before its access is. */
  identity?: (identity: Identity) => boolean;
  /** Whether a candidate is kept (a campaign's `itemInScope`); subjects left with none are dropped. */
  candidate?: (candidate: CandidateItem) => boolean;
}

/**
 * Reads and computes the effective access of everyone (or of `identityIds`, with their peers for the
 * statistics) at `now`, 5,000 identities at a time: peer statistics count everyone, and only the
 * subjects and candidates `select` keeps are held (with `select`, a subject left with no candidate is
 * not returned). `withRoles`: role candidates too (a campaign reviewing roles).
 */
export async function loadReviewAccess(
  db: Db,
  config: Pick<TenureConfig, "policy" | "lifecycle" | "sources">,
  now: Date,
  options: {
    identityIds?: readonly string[];
    withRoles: boolean;
    select?: ReviewAccessSelection;
    /** Identities read and computed at a time; default 5,000. */
    pageSize?: number;
    /**
     * Only this part of everyone (not with `identityIds`): its subjects, and its people in the peer
     * statistics (the caller merges the other parts' counts). Managers outside it are read.
     */
    part?: IdRange;
  },
): Promise<ReviewAccessData> {
  const subset = options.identityIds;
  const pageSize = options.pageSize ?? PAGE;
  const selectIdentity = options.select?.identity;
  const keepCandidate = options.select?.candidate;
  const selecting = options.select !== undefined;
  const [exclusionList, usageSystems, violations] = await Promise.all([
    subset === undefined ? reviewExclusionRepository.active(db) : Promise.resolve([]),
    accountRepository.systemsReportingUse(db),
    sodViolationRepository.open(db, subset === undefined ? {} : { identityIds: subset }),
  ]);
  const exclusions = group<AccessExclusion>(exclusionList, (e) => e.identityId);
  const calculator = calculatorFor(config.policy, config.lifecycle);
  const today = policyToday(config, now);
  const peers = createPeerStats();
  const keys = createAccessKeys();
  const bySourceKey = new Map<string, Identity>();
  const decisions = new Map<string, { campaignId: string; state: string; at: string }>();
  const out: ReviewSubject[] = [];
  const seen = new Set<string>();

  const compute = (row: ReviewPopulationRow): CandidateItem[] => {
    const { identity } = row;
    const { desired, roles } = calculator.computeWithRoles(
      {
        identity,
        assignments: row.assignments,
        exclusions: exclusions.get(identity.id) ?? [],
        usernames: {},
        now,
        today,
      },
      { light: true },
    );
    return candidatesOf({
      policy: config.policy,
      desired,
      roles,
      accounts: row.accounts,
      withRoles: options.withRoles,
      keys,
    });
  };

  const take = async (page: readonly ReviewPopulationRow[], subjects: boolean) => {
    if (subset !== undefined) {
      // A subset's exclusions are read with its pages (everyone's are read once, below).
      const ids = page.map((r) => r.identity.id).filter((id) => !seen.has(id));
      for (const e of await reviewExclusionRepository.active(db, ids)) {
        const list = exclusions.get(e.identityId);
        if (list === undefined) exclusions.set(e.identityId, [e]);
        else list.push(e);
      }
    }
    const kept: ReviewSubject[] = [];
    let n = 0;
    for (const row of page) {
      // The next page is being read meanwhile: on PostgreSQL its rows arrive on this thread's socket,
      // and a page computed in one go (about a third of a second) left them unread, so the server
      // stopped sending once the socket's buffers were full and the next page was late (the campaign's
      // load idle 3 s of 9 at 100,000 identities). Reading in between keeps the server going.
      if (++n % YIELD_ROWS === 0) await new Promise((resolve) => setImmediate(resolve));
      const { identity } = row;
      if (seen.has(identity.id)) continue;
      seen.add(identity.id);
      bySourceKey.set(sourceKeyOf(identity.source, identity.sourceKey), identity);
      const candidates = compute(row);
      const peerGroup = peerGroupOf(identity.attributes);
      peers.add(
        peerGroup,
        candidates.map((c) => c.accessKey),
      );
      if (!subjects) continue;
      if (selectIdentity !== undefined && !selectIdentity(identity)) continue;
      const held = keepCandidate === undefined ? candidates : candidates.filter(keepCandidate);
      if (selecting && held.length === 0) continue;
      kept.push({ identity, candidates: held, group: peerGroup });
    }
    // Earlier decisions on what is kept, read for these subjects only (the access index serves it).
    for (const part of chunk(
      kept.map((s) => s.identity.id),
      ID_LIST,
    )) {
      for (const [key, d] of await reviewItemRepository.lastDecisions(db, part)) decisions.set(key, d);
    }
    for (const s of kept) out.push(s);
  };

  for await (const page of populationPages(db, subset, pageSize, options.part)) await take(page, true);
  let managers: Identity[] = [];
  if (subset !== undefined) {
    // Subjects are in id order within each part of `identityIds`: put them in id order overall.
    out.sort((a, b) => (a.identity.id < b.identity.id ? -1 : a.identity.id > b.identity.id ? 1 : 0));
    const { departments, groups } = await peerDepartments(db, subset);
    for await (const page of peerPages(db, departments, pageSize)) {
      await take(
        page.filter((r) => groups.has(peerGroupOf(r.identity.attributes) ?? "")),
        false,
      );
    }
    managers = await managersOf(
      db,
      out.map((s) => s.identity),
    );
  } else if (options.part !== undefined) {
    // A part's subjects may report to someone of another part.
    managers = await managersOf(
      db,
      out
        .map((s) => s.identity)
        .filter((i) => {
          const key = i.attributes.managerId;
          return key !== null && !bySourceKey.has(sourceKeyOf(i.source, key));
        }),
    );
  }
  for (const i of managers) bySourceKey.set(sourceKeyOf(i.source, i.sourceKey), i);

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
      // A first campaign has no earlier decisions: no key is built per item then.
      if (decisions.size === 0) return null;
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
    const keys = [...new Set(people.map((i) => i.attributes.managerId))].filter(
      (k): k is string => k !== null,
    );
    if (keys.length === 0) continue;
    for (const m of await identityRepository.listBySourceKeysOrEmails(db, source, keys, [])) {
      if (!isGone(m.state)) out.push(m);
    }
  }
  return out;
}
