import { appendEvents } from "../audit/ledger.js";
import type { AccessExclusion, Assignment, Lineage, PlannedOperation } from "../domain/access-types.js";
import type { Identity } from "../domain/identity-types.js";
import { idempotencyKey } from "../domain/plan.js";
import { ownerEmail } from "../engine/sod-scan.js";
import { enqueueNotifications } from "../notify/notification-enqueue.js";
import type { TenureConfig } from "../policy/config-types.js";
import { assignmentRepository } from "../store/assignment-repository.js";
import { identityRepository } from "../store/identity-repository.js";
import { reviewExclusionRepository } from "../store/review-exclusion-repository.js";
import type { ReviewItem } from "../store/review-repository.js";
import type { Db } from "../store/schema-types.js";
import { describeAccess } from "./review-decisions.js";

/**
 * What a review's revocation undoes at the source of the access (see review-removal.ts): an assignment
 * revoked, an exclusion recorded (and the role owner told), or a revoke operation for access found in
 * the target. Each is idempotent, so a pass that dies half-way is simply run again.
 */

export function describeLineageShort(l: Lineage): string {
  if (l.kind === "assignment") return `assignment ${l.assignmentId}`;
  if (l.kind === "role") return `role ${l.role}`;
  if (l.kind === "mover-grace") return "mover grace";
  return l.note;
}

/** The lineage of what a review removes: the campaign and the item. */
function reviewLineage(item: ReviewItem, campaign: string): Lineage {
  return {
    kind: "lifecycle",
    policy: "reviews",
    note: `revoked in access review ${campaign} (item ${item.id})`,
    review: { itemId: item.id, campaignId: item.campaignId },
  };
}

export function reviewDetails(item: ReviewItem, campaign: string): Record<string, unknown> {
  return {
    item: item.id,
    campaignId: item.campaignId,
    campaign,
    access: describeAccess(item),
    source: item.source,
    decidedBy: item.decidedBy,
    reason: item.comment,
  };
}

/** Revokes the assignment now (audited `assignment.revoked` naming the review); its end follows. */
export async function revokeAssignment(
  db: Db,
  assignment: Assignment,
  item: ReviewItem,
  campaign: string,
  options: { now: Date; actor: string },
): Promise<void> {
  const at = options.now.toISOString();
  await db.transaction().execute(async (trx) => {
    if (!(await assignmentRepository.revoke(trx, assignment.id, at))) return;
    await appendEvents(trx, [
      {
        time: at,
        actor: options.actor,
        action: "assignment.revoked",
        subject: `identity:${assignment.identityId}`,
        details: {
          assignment: assignment.id,
          target: assignment.target,
          request: assignment.requestId ?? null,
          by: item.decidedBy,
          asAdmin: false,
          reason: item.comment,
          review: reviewDetails(item, campaign),
        },
      },
    ]);
  });
}

/**
 * Records the exclusion (once per item) with its audit event, and tells the owner of the role whose
 * rule gave the access that a reviewer refused it — in one transaction.
 */
export async function recordExclusion(
  db: Db,
  config: TenureConfig,
  exclusion: AccessExclusion,
  item: ReviewItem,
  holder: Identity,
  lineage: readonly Lineage[],
  options: { now: Date; actor: string },
): Promise<void> {
  const at = options.now.toISOString();
  const campaign = exclusion.campaign ?? exclusion.campaignId;
  const role = grantingRole(lineage, config);
  const owner = role === null ? null : (config.policy.roles[role]?.owner ?? null);
  const [to, reviewer] = await Promise.all([
    owner === null ? null : ownerEmail(db, owner),
    item.decidedBy === null ? undefined : identityRepository.findById(db, item.decidedBy),
  ]);
  await db.transaction().execute(async (trx) => {
    const fresh = await reviewExclusionRepository.insert(trx, {
      identityId: exclusion.identityId,
      employment: exclusion.employment,
      target: exclusion.target,
      itemId: item.id,
      campaignId: item.campaignId,
      createdAt: at,
      createdBy: item.decidedBy ?? options.actor,
    });
    if (!fresh) return;
    await appendEvents(trx, [
      {
        time: at,
        actor: options.actor,
        action: "review.exclusion_recorded",
        subject: `identity:${holder.id}`,
        details: { ...reviewDetails(item, campaign), employment: exclusion.employment, role },
      },
    ]);
    // Kept after a move is the old role's grace, not something its rule grants now: nothing to tell.
    if (role === null || item.source === "mover-grace") return;
    await enqueueNotifications(
      trx,
      {
        name: "review.birthright-refused",
        data: {
          itemId: item.id,
          to,
          role,
          access: describeAccess(item),
          holder: holder.attributes.displayName ?? holder.id,
          reviewer: reviewer?.attributes.displayName ?? item.decidedBy ?? options.actor,
          reason: item.comment ?? "no reason given",
          campaign,
        },
      },
      config,
      options.now,
    );
  });
}

/** The birthright role whose rule gave the access (the head of its include chain), one with an owner first. */
function grantingRole(lineage: readonly Lineage[], config: TenureConfig): string | null {
  const roles: string[] = [];
  const visit = (l: Lineage) => {
    if (l.kind === "role") roles.push(l.chain[0] ?? l.role);
    else if (l.kind === "mover-grace") visit(l.from);
  };
  for (const l of lineage) visit(l);
  return roles.find((r) => config.policy.roles[r]?.owner) ?? roles[0] ?? null;
}

export function revokeOperation(
  item: ReviewItem,
  campaign: string,
  holder: Identity,
  account: { system: string; username: string; nativeId: string | null },
): PlannedOperation {
  const entitlement = item.access.kind === "entitlement" ? item.access.entitlement : null;
  const change = {
    system: account.system,
    kind: "revoke" as const,
    username: account.username,
    entitlement,
    attributes: null,
    enabled: null,
  };
  const by = item.decidedBy === null ? "" : ` by ${item.decidedBy}`;
  return {
    ...change,
    identityId: holder.id,
    nativeId: account.nativeId,
    lineage: [reviewLineage(item, campaign)],
    reason: `Revoke ${account.system}:${entitlement}, added in ${account.system} directly: revoked in access review ${campaign} (item ${item.id})${by}${item.comment ? `: ${item.comment}` : ""}.`,
    idempotencyKey: idempotencyKey(change),
    drift: true,
  };
}
