import { NotFoundError } from "../shared/errors.js";
import { identityRepository } from "../store/identity-repository.js";
import type { Db } from "../store/schema-types.js";
import { type AuditEvent, identitySubjects, queryEvents } from "./ledger.js";

/*
 * Identities and assignments as the ledger had them at a point in time (point-in-time.ts): from
 * identity.* and assignment.* events, never from the current rows — except an identity's key, which
 * the ledger records only when it changes (identity.rekeyed): the key at T is the current key walked
 * back through every re-key after T.
 */

/** An identity as it was at a point in time. */
export interface IdentityAt {
  id: string;
  /** Its HR key then. */
  key: string;
  /** Its lifecycle state then; null when it did not exist yet. */
  state: string | null;
  /** Its employment then: 1, then one more per rehire. */
  employment: number;
  attributes: Record<string, unknown>;
  /** When each employment began (the first at creation), in order. */
  employments: Array<{ employment: number; from: string }>;
}

/** An assignment (access granted outside birthright) and its window, as recorded up to the point. */
export interface AssignmentAt {
  id: string;
  identityId: string;
  target: { system: string; entitlement: string } | { role: string };
  validFrom: string;
  validUntil: string | null;
  request: string | null;
  approvedBy: string | null;
  /** When it was revoked or ended, if before the point. */
  endedAt: string | null;
  /** Granted, not ended, and inside its window at the point. */
  inForce: boolean;
  seq: number;
}

const PAGE = 5_000;

/** Events matching `filter` with seq below `before` (all when null), in seq order. */
export async function eventsBefore(
  db: Db,
  filter: { subject?: string | readonly string[]; action?: string },
  before: number | null,
): Promise<AuditEvent[]> {
  const out: AuditEvent[] = [];
  let afterSeq: number | undefined;
  for (;;) {
    const page = await queryEvents(db, {
      ...filter,
      limit: PAGE,
      ...(afterSeq === undefined ? {} : { afterSeq }),
    });
    for (const e of page) {
      if (before !== null && e.seq >= before) return out;
      out.push(e);
    }
    if (page.length < PAGE) return out;
    afterSeq = page[page.length - 1]!.seq;
  }
}

/**
 * The identity as the ledger had it before event `cut` (null: at the head).
 * @throws NotFoundError when no identity has this id.
 */
export async function identityAt(db: Db, id: string, cut: number | null): Promise<IdentityAt> {
  const current = await identityRepository.findById(db, id);
  if (current === undefined) throw new NotFoundError(`no identity has the id ${id}`);
  const all = (await eventsBefore(db, { subject: identitySubjects(id) }, null)).filter((e) =>
    e.action.startsWith("identity."),
  );
  let key = current.sourceKey;
  for (let i = all.length - 1; i >= 0; i--) {
    const e = all[i]!;
    if (cut !== null && e.seq >= cut && e.action === "identity.rekeyed") key = String(e.details.before);
  }
  let state: string | null = null;
  let employment = 1;
  let attributes: Record<string, unknown> = {};
  const employments: IdentityAt["employments"] = [];
  for (const e of all) {
    if (cut !== null && e.seq >= cut) break;
    const d = e.details;
    switch (e.action) {
      case "identity.created":
        state = String(d.state);
        attributes = { ...((d.attributes ?? {}) as Record<string, unknown>) };
        employments.push({ employment: 1, from: e.time });
        break;
      case "identity.updated":
        for (const [k, c] of Object.entries((d.changes ?? {}) as Record<string, { after: unknown }>))
          attributes[k] = c.after;
        break;
      case "identity.state_changed":
        state = String(d.to);
        break;
      case "identity.rehired":
        state = String(d.to);
        employment = Number(d.employment);
        employments.push({ employment, from: e.time });
        break;
    }
  }
  return { id, key, state, employment, attributes, employments };
}

/**
 * The identity a reference named at the point: an id; an HR key as it was then (a re-keyed identity
 * is found by its old key at an old date, and by its new key only from the re-key on) or as it is
 * now; or an email as it is now.
 * @throws NotFoundError when nothing matches.
 */
export async function resolveIdentityAt(db: Db, ref: string, cut: number | null): Promise<string> {
  const byId = await identityRepository.findById(db, ref);
  if (byId !== undefined) return byId.id;
  const rekeys = await eventsBefore(db, { action: "identity.rekeyed" }, null);
  const candidates = new Set(
    rekeys.filter((e) => e.details.before === ref || e.details.after === ref).map((e) => e.subject),
  );
  for (const id of candidates) {
    if ((await identityAt(db, id, cut)).key === ref) return id;
  }
  const now = await identityRepository.resolve(db, ref);
  if (now !== undefined && !candidates.has(now.id)) return now.id;
  throw new NotFoundError(`no identity has the id, HR key or email "${ref}" at that time`);
}

/** Every assignment recorded before event `cut`, optionally of one identity, with whether it is in force at `atIso`. */
export async function assignmentsAt(
  db: Db,
  atIso: string,
  cut: number | null,
  filter: { identityId?: string } = {},
): Promise<AssignmentAt[]> {
  const byId = new Map<string, AssignmentAt>();
  const subject = filter.identityId === undefined ? undefined : `identity:${filter.identityId}`;
  const scope = subject === undefined ? {} : { subject };
  for (const e of await eventsBefore(db, { action: "assignment.granted", ...scope }, cut)) {
    const d = e.details;
    const id = String(d.assignment);
    byId.set(id, {
      id,
      identityId: e.subject.replace(/^identity:/, ""),
      target: d.target as AssignmentAt["target"],
      validFrom: String(d.validFrom ?? e.time),
      validUntil: (d.validUntil ?? null) as string | null,
      request: (d.request ?? null) as string | null,
      approvedBy: (d.approvedBy ?? null) as string | null,
      endedAt: null,
      inForce: false,
      seq: e.seq,
    });
  }
  // Changes after the grant, in chain order.
  const changes: AuditEvent[] = [];
  for (const action of ["assignment.extended", "assignment.revoked", "assignment.ended"]) {
    changes.push(...(await eventsBefore(db, { action, ...scope }, cut)));
  }
  changes.sort((x, y) => x.seq - y.seq);
  for (const e of changes) {
    const a = byId.get(String(e.details.assignment));
    if (a === undefined) continue;
    if (e.action === "assignment.extended") a.validUntil = String(e.details.to);
    else a.endedAt ??= e.time;
  }
  for (const a of byId.values()) {
    a.inForce = a.endedAt === null && a.validFrom <= atIso && (a.validUntil === null || atIso < a.validUntil);
  }
  return [...byId.values()].sort((x, y) => x.seq - y.seq);
}
