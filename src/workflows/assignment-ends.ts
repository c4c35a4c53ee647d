import { appendEvents } from "../audit/ledger.js";
import type { Account as TargetAccount } from "../connectors/connector-types.js";
import type { AccessExclusion, Assignment, DesiredAccess } from "../domain/access-types.js";
import { computeDesiredAccess } from "../domain/desired-state.js";
import type { Identity } from "../domain/identity-types.js";
import { loadDesiredInputs } from "../engine/desired-inputs.js";
import { type ConnectorPool, connectorPool, policyToday } from "../engine/provision.js";
import { enqueueNotifications } from "../notify/notification-enqueue.js";
import type { TenureConfig } from "../policy/config-types.js";
import { accountRepository } from "../store/account-repository.js";
import { assignmentRepository, type EndReceipt } from "../store/assignment-repository.js";
import type { Store } from "../store/database.js";
import { identityRepository } from "../store/identity-repository.js";
import { provisionNow } from "./provision-now.js";

/**
 * Assignments worked on per pass: a backlog (a process down for a day) is cleared in passes. Large, so
 * a burst of ends is planned and applied at once: 1,000 simultaneous ends are all read back in 4.4 s
 * as one pass, where two passes of 500 took 6.0 s for the last (bench/access-requests.bench.ts).
 */
const BATCH = 1000;

export interface EndedAssignments {
  /** Ends confirmed by reading the targets back (audited `assignment.ended` with the receipt). */
  confirmed: Array<{ assignment: Assignment; receipt: EndReceipt }>;
  /** Ends a target did not confirm yet: they stay open, are alerted once, and are tried again. */
  unconfirmed: Array<{ assignment: Assignment; receipt: EndReceipt }>;
}

function describeTarget(a: Assignment): string {
  return "role" in a.target ? `role ${a.target.role}` : `${a.target.system}:${a.target.entitlement}`;
}

/**
 * Ends the assignments whose window has run out (or that were revoked) by `now`: provisions their
 * holders now (their plan no longer counts the assignment, so it revokes what only it gave), then reads
 * every target back and keeps the receipt — each piece of access the assignment gave, `gone`, or `kept`
 * when other access of the holder still gives it. An end confirmed everywhere is closed (`ended_at`,
 * audit `assignment.ended`); one a target still shows stays open, is alerted once
 * (`assignment.end_unconfirmed`, notification `access.revocation-unconfirmed`) and is tried again at the
 * next pass. Nothing here depends on having been running at the moment of the end: a process that was
 * down ends everything overdue when it starts.
 */
export async function endDueAssignments(
  store: Store,
  config: TenureConfig,
  options: { now: Date; actor: string; pool?: ConnectorPool },
): Promise<EndedAssignments> {
  const { now } = options;
  const due = await assignmentRepository.endingBy(store.db, now.toISOString(), BATCH);
  if (due.length === 0) return { confirmed: [], unconfirmed: [] };
  const holderIds = [...new Set(due.map((a) => a.identityId))];
  await provisionNow(
    store,
    config,
    holderIds,
    options,
    `end of ${due.length} assignment${due.length === 1 ? "" : "s"}`,
  );

  const pool = options.pool ?? connectorPool(config);
  try {
    const holders = await identityRepository.findByIds(store.db, holderIds);
    const { assignments: all, exclusions } = await loadDesiredInputs(store.db, holderIds);
    const stored = await accountRepository.list(store.db, { identityIds: holderIds });
    const reads = new Map<string, Promise<Map<string, TargetAccount> | string>>();
    const readSystem = (system: string) => {
      let read = reads.get(system);
      if (read === undefined) {
        read = pool
          .get(system)
          .listAccounts()
          .then(
            (accounts) => new Map(accounts.map((a) => [a.username.toLowerCase(), a])),
            (err: Error) => `could not read ${system}: ${err.message}`,
          );
        reads.set(system, read);
      }
      return read;
    };
    const result: EndedAssignments = { confirmed: [], unconfirmed: [] };
    const holdersOf = new Map<string, string>();
    for (const assignment of due) {
      const holder = holders.get(assignment.identityId);
      const receipt: EndReceipt = { checkedAt: now.toISOString(), checks: [] };
      if (holder !== undefined) {
        const mine = all.filter((a) => a.identityId === holder.id);
        const gave = accessGiven(config, holder, assignment, mine, now, exclusions);
        for (const piece of gave.pieces) {
          const username =
            stored.find((a) => a.identityId === holder.id && a.system === piece.system)?.username ?? null;
          if (piece.kept) {
            receipt.checks.push({
              system: piece.system,
              username,
              entitlement: piece.entitlement,
              outcome: "kept",
            });
            continue;
          }
          const read =
            config.policy.systems[piece.system] === undefined
              ? "system no longer configured"
              : await readSystem(piece.system);
          if (typeof read === "string") {
            receipt.checks.push({
              system: piece.system,
              username,
              entitlement: piece.entitlement,
              outcome: "unreadable",
              detail: read,
            });
            continue;
          }
          const account = username === null ? undefined : read.get(username.toLowerCase());
          const present =
            account !== undefined &&
            (piece.entitlement === null ? account.enabled : account.entitlements.includes(piece.entitlement));
          receipt.checks.push({
            system: piece.system,
            username,
            entitlement: piece.entitlement,
            outcome: present ? "present" : "gone",
          });
        }
      }
      const confirmed = receipt.checks.every((c) => c.outcome === "gone" || c.outcome === "kept");
      (confirmed ? result.confirmed : result.unconfirmed).push({ assignment, receipt });
      holdersOf.set(assignment.id, holder?.attributes.displayName ?? assignment.identityId);
    }
    // One transaction for the pass: hundreds of ends are recorded together, not one commit each.
    await store.db.transaction().execute(async (trx) => {
      const at = now.toISOString();
      const event = (e: { assignment: Assignment; receipt: EndReceipt }, action: string) => ({
        time: at,
        actor: options.actor,
        action,
        subject: `identity:${e.assignment.identityId}`,
        details: {
          assignment: e.assignment.id,
          target: e.assignment.target,
          request: e.assignment.requestId ?? null,
          why: e.assignment.revokedAt !== null ? "revoked" : "expired",
          validUntil: e.assignment.validUntil,
          receipt: e.receipt,
        },
      });
      for (const e of result.confirmed)
        await assignmentRepository.markEnded(trx, e.assignment.id, at, e.receipt);
      await appendEvents(
        trx,
        result.confirmed.map((e) => event(e, "assignment.ended")),
      );
      for (const e of result.unconfirmed) {
        if (!(await assignmentRepository.markAlerted(trx, e.assignment.id, at))) continue;
        await appendEvents(trx, [event(e, "assignment.end_unconfirmed")]);
        await enqueueNotifications(
          trx,
          {
            name: "access.revocation-unconfirmed",
            data: {
              assignmentId: e.assignment.id,
              holder: holdersOf.get(e.assignment.id) ?? e.assignment.identityId,
              item: describeTarget(e.assignment),
              detail: e.receipt.checks
                .filter((c) => c.outcome === "present" || c.outcome === "unreadable")
                .map(
                  (c) =>
                    `${c.system}${c.entitlement === null ? "" : `:${c.entitlement}`} ${c.outcome}${c.detail ? ` (${c.detail})` : ""}`,
                )
                .join("; "),
            },
          },
          config,
          now,
        );
      }
    });
    return result;
  } finally {
    if (options.pool === undefined) await pool.closeAll();
  }
}

/**
 * What an assignment gave its holder — every entitlement (and account) whose lineage names it, had it
 * still been in force — and, for each, whether the holder keeps it now through other access.
 */
export function accessGiven(
  config: TenureConfig,
  holder: Identity,
  assignment: Assignment,
  assignments: readonly Assignment[],
  now: Date,
  /** The holder's review exclusions: access they keep away is not kept through birthright. */
  exclusions: readonly AccessExclusion[] = [],
): { pieces: Array<{ system: string; entitlement: string | null; kept: boolean }> } {
  const base = {
    identity: holder,
    policy: config.policy,
    lifecycle: config.lifecycle,
    exclusions,
    usernames: {},
    now,
    today: policyToday(config, now),
  };
  const inForce = { ...assignment, validFrom: new Date(0).toISOString(), validUntil: null, revokedAt: null };
  const withIt = computeDesiredAccess({
    ...base,
    assignments: [...assignments.filter((a) => a.id !== assignment.id), inForce],
  });
  const without = computeDesiredAccess({ ...base, assignments });
  const pieces: Array<{ system: string; entitlement: string | null; kept: boolean }> = [];
  for (const [system, access] of Object.entries(withIt.systems)) {
    const after = without.systems[system];
    for (const [entitlement, lineage] of Object.entries(access.entitlements)) {
      if (!lineage.some((l) => l.kind === "assignment" && l.assignmentId === assignment.id)) continue;
      pieces.push({
        system,
        entitlement,
        kept: after?.entitlements[entitlement] !== undefined && enabled(after),
      });
    }
    if (access.presenceLineage.some((l) => l.kind === "assignment" && l.assignmentId === assignment.id)) {
      pieces.push({ system, entitlement: null, kept: after !== undefined && enabled(after) });
    }
  }
  return { pieces };
}

function enabled(access: DesiredAccess["systems"][string]): boolean {
  return access.presence === "enabled";
}
