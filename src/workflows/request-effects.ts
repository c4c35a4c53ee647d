import { randomUUID } from "node:crypto";
import { appendEvents } from "../audit/ledger.js";
import type { Assignment } from "../domain/access-types.js";
import { formatDuration } from "../domain/duration.js";
import type { Identity } from "../domain/identity-types.js";
import type { AccessRequest, RequestEffect, RequestEvent, RequestItem } from "../domain/request-types.js";
import { enqueueNotifications } from "../notify/notification-enqueue.js";
import type { TenureConfig } from "../policy/config-types.js";
import { TenureError } from "../shared/errors.js";
import { accessRequestRepository } from "../store/access-request-repository.js";
import { assignmentRepository } from "../store/assignment-repository.js";
import type { Store } from "../store/database.js";
import { identityRepository } from "../store/identity-repository.js";
import type { Db } from "../store/schema-types.js";
import { accessChanged } from "./access-clock.js";
import { standingInFor } from "./delegations.js";
import { type ProvisionedNow, provisionNow } from "./provision-now.js";
import { itemPolicy } from "./request-approvers.js";
import { decideRequest } from "./request-decisions.js";
import { revokeRequestAccess } from "./request-revocation.js";
import { checkRequestSod, sodRefusal, sodStepName } from "./sod-check.js";
import { acceptByRequest } from "./sod-exceptions.js";

/** What a submission or a decision did: the request as written, what it granted, and provisioning. */
export interface CarriedOut {
  request: AccessRequest;
  /** Assignments created by a grant (empty otherwise). */
  assignments: Assignment[];
  /** Operations queued and applied for the grant, or why provisioning did not run now. */
  provisioning: ProvisionedNow | null;
}

/** `role db-admin, db:readers`. */
export function describeItems(items: readonly RequestItem[]): string {
  return items.map((i) => (i.kind === "role" ? `role ${i.role}` : `${i.system}:${i.entitlement}`)).join(", ");
}

/** Where an approver decides: the console's page of the request, or the command. */
export function decisionLink(config: TenureConfig, requestId: string): string {
  const base = config.server.console.publicUrl;
  return base === undefined
    ? `tenure request approve ${requestId} (or deny)`
    : `${base.replace(/\/$/, "")}/requests/${encodeURIComponent(requestId)}`;
}

/**
 * Runs `write` (which records the request change and its audit event) and the effects it returns in one
 * transaction — grants become assignments with their audit events, asks and answers become outbox
 * messages — so a crash never leaves an approved request without its assignment or an ask unsent. After
 * the commit, the beneficiary of a grant is provisioned at once (provisionIdentities) and the access
 * timer is woken for the new end; a provisioning failure is reported, not thrown: the grant stands and
 * its operations retry like any other.
 */
export async function carryOut(
  store: Store,
  config: TenureConfig,
  write: (trx: Db) => Promise<{ request: AccessRequest; effects: readonly RequestEffect[] } | null>,
  options: { now: Date; actor: string },
): Promise<CarriedOut> {
  const written = await store.db.transaction().execute(async (trx) => {
    const outcome = await write(trx);
    if (outcome === null) return null;
    const assignments = await applyEffects(trx, config, outcome.request, outcome.effects, options);
    return { request: outcome.request, assignments };
  });
  if (written === null) throw new Error("carryOut: the write returned nothing");
  let provisioning: CarriedOut["provisioning"] = null;
  if (written.assignments.length > 0) {
    provisioning = await provisionNow(
      store,
      config,
      [written.request.beneficiaryId],
      options,
      `grant of request ${written.request.id}`,
    );
    accessChanged();
  }
  return { ...written, provisioning };
}

async function endReviewed(
  store: Store,
  config: TenureConfig,
  requestId: string,
  options: { now: Date; actor: string },
): Promise<void> {
  try {
    await revokeRequestAccess(store, config, requestId, {
      by: null,
      asAdmin: true,
      ...options,
      reason: "break-glass not accepted at review",
    });
  } catch (err) {
    if (!(err instanceof TenureError && err.code === "nothing_to_revoke")) throw err;
  }
}

/**
 * Applies `event` to request `id` (decideRequest: the state machine, a version check, the audit event)
 * with its effects in the same transaction, then provisions a grant at once — as {@link carryOut}.
 */
export async function decide(
  store: Store,
  config: TenureConfig,
  id: string,
  event: RequestEvent,
  options: { now: Date; actor: string },
): Promise<CarriedOut> {
  let assignments: Assignment[] = [];
  if ((event.kind === "approve" || event.kind === "deny") && !event.onBehalfOf) {
    // Deciding as someone's stand-in while they are away (a delegation in force): recorded as both.
    const current = await accessRequestRepository.find(store.db, id);
    const principal =
      current === undefined ? null : await standingInFor(store, current, event.by, options.now);
    if (principal !== null) event = { ...event, onBehalfOf: principal };
  }
  if (event.kind === "approve") {
    // The configuration may have changed since the request was submitted: an item that is gone, or no
    // longer requestable, is not granted whoever approves.
    const current = await accessRequestRepository.find(store.db, id);
    for (const item of current?.items ?? []) {
      const found = itemPolicy(config.policy, item);
      if (typeof found === "string") {
        throw new TenureError(
          "item_gone",
          `request ${id} cannot be approved: ${found}; nothing was changed (cancel it)`,
          {
            httpStatus: 409,
          },
        );
      }
    }
  }
  const transition = await decideRequest(store, id, event, options, async (trx, t) => {
    assignments = await applyEffects(trx, config, t.request, t.effects, options);
  });
  let provisioning: CarriedOut["provisioning"] = null;
  if (assignments.length > 0) {
    provisioning = await provisionNow(
      store,
      config,
      [transition.request.beneficiaryId],
      options,
      `grant of request ${id}`,
    );
    accessChanged();
  }
  const r = transition.request;
  if (r.kind === "review" && r.state === "denied" && r.ticket !== null) {
    // A break-glass its reviewer does not accept ends now, read back like any revocation.
    await endReviewed(store, config, r.ticket, options);
  }
  return { request: r, assignments, provisioning };
}

/** Writes the effects of a request change in its transaction: assignments for a grant, outbox messages. */
export async function applyEffects(
  trx: Db,
  config: TenureConfig,
  request: AccessRequest,
  effects: readonly RequestEffect[],
  options: { now: Date; actor: string },
): Promise<Assignment[]> {
  const { now } = options;
  const people = await identityRepository.findByIds(trx, [
    request.requesterId,
    request.beneficiaryId,
    ...effects.flatMap((e) => (e.kind === "notify-approvers" ? e.approvers : [])),
  ]);
  const beneficiary = people.get(request.beneficiaryId);
  const nameOf = (id: string) => people.get(id)?.attributes.displayName ?? id;
  const assignments: Assignment[] = [];
  let until: string | null = null;
  for (const effect of effects) {
    // A review's approval accepts access already granted (break-glass): it grants nothing more.
    if (effect.kind !== "grant" || beneficiary === undefined || request.kind === "review") continue;
    await checkGrantSod(trx, config, request, beneficiary, effect.durationMs, options);
    if (request.kind === "extension" && request.extends !== undefined) {
      until = await extendAccess(trx, request, request.extends, effect.durationMs, options);
      continue;
    }
    const validUntil = new Date(now.getTime() + effect.durationMs).toISOString();
    until = validUntil;
    const approvedBy = request.autoApproved
      ? request.kind === "break-glass"
        ? "break-glass"
        : "policy (autoApprove)"
      : [...new Set(request.decisions.filter((d) => d.verdict === "approve").map((d) => d.by))].join(", ");
    for (const item of effect.items) {
      const assignment: Assignment = {
        id: randomUUID(),
        identityId: request.beneficiaryId,
        target:
          item.kind === "role" ? { role: item.role } : { system: item.system, entitlement: item.entitlement },
        employment: beneficiary.employment,
        // The window counts from the grant, not from the request.
        validFrom: now.toISOString(),
        validUntil,
        reason: `request ${request.id}: ${request.justification}`,
        approvedBy,
        revokedAt: null,
        requestId: request.id,
      };
      await assignmentRepository.insert(trx, assignment, now.toISOString());
      assignments.push(assignment);
    }
    await appendEvents(
      trx,
      assignments.map((a) => ({
        time: now.toISOString(),
        actor: options.actor,
        action: "assignment.granted",
        subject: `identity:${a.identityId}`,
        details: {
          assignment: a.id,
          target: a.target,
          validFrom: a.validFrom,
          validUntil: a.validUntil,
          request: request.id,
          approvedBy: a.approvedBy,
          ticket: request.ticket,
        },
      })),
    );
  }
  for (const effect of effects) {
    if (effect.kind === "notify-approvers") {
      const step = request.steps[effect.step];
      for (const approverId of effect.approvers) {
        await askApprover(
          trx,
          config,
          request,
          people.get(approverId),
          nameOf,
          step === undefined ? "" : `${effect.step + 1} of ${request.steps.length} (${step.name})`,
          "first",
          now,
        );
      }
    } else if (effect.kind === "notify-requester") {
      const last = request.decisions.at(-1);
      await enqueueNotifications(
        trx,
        {
          name: "request.decided",
          data: {
            requestId: request.id,
            to: people.get(request.requesterId)?.attributes.email ?? null,
            beneficiary: nameOf(request.beneficiaryId),
            items: describeItems(request.items),
            outcome: effect.outcome,
            by: effect.outcome === "expired" || last === undefined ? null : nameOf(last.by),
            comment: last?.comment ?? null,
            until,
          },
        },
        config,
        now,
      );
    }
  }
  return assignments;
}

/**
 * Separation of duties at the grant, under a lock on the beneficiary: what they hold may have changed
 * since submission (another request granted meanwhile). A high-severity conflict, or a medium one its
 * rule's owner did not approve in this request, refuses the grant — the transaction writes nothing, so
 * of two requests that conflict only together and are decided at once, exactly one is granted. A
 * medium conflict the owner approved becomes an exception for the access's window.
 */
async function checkGrantSod(
  trx: Db,
  config: TenureConfig,
  request: AccessRequest,
  beneficiary: Identity,
  durationMs: number,
  options: { now: Date; actor: string },
): Promise<void> {
  await identityRepository.lockRow(trx, beneficiary.id);
  const { now } = options;
  const check = await checkRequestSod(trx, config, beneficiary, request.items, durationMs, now);
  if (check.refused.length > 0) {
    throw sodRefusal(
      config,
      beneficiary,
      check.refused,
      `request ${request.id} cannot be granted; nothing was changed`,
    );
  }
  if (request.kind === "break-glass" || request.kind === "workflow") return;
  for (const v of check.needsOwner) {
    const step = request.steps.findIndex((s) => s.name === sodStepName(v.rule));
    const approval = request.decisions.find((d) => d.step === step && d.verdict === "approve");
    if (step < 0 || approval === undefined) {
      throw sodRefusal(
        config,
        beneficiary,
        [v],
        `request ${request.id} was not approved by the owner of rule ${v.rule}; nothing was changed: deny it and ask again, so that the owner's step is added`,
      );
    }
    await acceptByRequest(trx, config, {
      identityId: beneficiary.id,
      rule: v.rule,
      approvedBy: approval.by,
      request,
      expiresAt: new Date(now.getTime() + durationMs).toISOString(),
      now,
      actor: options.actor,
    });
  }
}

/**
 * An approved extension: the original request's open assignments end `durationMs` later than they
 * would have — the same assignments, so the target sees no change at all (no gap, no second account).
 * @throws TenureError `access_ended` (409) when the access ended before the extension was approved:
 *   the decision's transaction then writes nothing.
 */
async function extendAccess(
  trx: Db,
  extension: AccessRequest,
  originalId: string,
  durationMs: number,
  options: { now: Date; actor: string },
): Promise<string> {
  const now = options.now.toISOString();
  // Only windowed access is extended (a request's grants always have a window).
  const open = (await assignmentRepository.openOfRequest(trx, originalId, now)).filter(
    (a) => a.validUntil !== null,
  );
  if (open.length === 0) {
    throw new TenureError(
      "access_ended",
      `the access of request ${originalId} ended before its extension ${extension.id} was approved; nothing was changed: ask for it again`,
      { httpStatus: 409 },
    );
  }
  let until = now;
  for (const a of open) {
    const validUntil = new Date(Date.parse(a.validUntil!) + durationMs).toISOString();
    await assignmentRepository.extend(trx, a.id, validUntil);
    until = validUntil;
    await appendEvents(trx, [
      {
        time: now,
        actor: options.actor,
        action: "assignment.extended",
        subject: `identity:${a.identityId}`,
        details: {
          assignment: a.id,
          request: originalId,
          extension: extension.id,
          from: a.validUntil,
          to: validUntil,
        },
      },
    ]);
  }
  return until;
}

/** Queues a `request.decision-needed` to one approver. */
export async function askApprover(
  trx: Db,
  config: TenureConfig,
  request: AccessRequest,
  approver: Identity | undefined,
  nameOf: (id: string) => string,
  step: string,
  reason: "first" | "reminder" | "escalation",
  now: Date,
): Promise<void> {
  if (approver === undefined) return;
  await enqueueNotifications(
    trx,
    {
      name: "request.decision-needed",
      data: {
        requestId: request.id,
        to: approver.attributes.email,
        approver: approver.attributes.displayName,
        requester: nameOf(request.requesterId),
        beneficiary: nameOf(request.beneficiaryId),
        items: describeItems(request.items),
        justification: request.justification,
        ticket: request.ticket,
        duration: formatDuration(request.durationMs),
        step,
        reason,
        link: decisionLink(config, request.id),
        expiresAt: request.expiresAt,
      },
    },
    config,
    now,
  );
}
