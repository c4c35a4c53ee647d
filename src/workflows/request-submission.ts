import { randomUUID } from "node:crypto";
import { appendEvents } from "../audit/ledger.js";
import { formatDuration } from "../domain/duration.js";
import type { Identity } from "../domain/identity-types.js";
import type { AccessRequest, RequestItem, RequestKind } from "../domain/request-types.js";
import { enqueueNotifications } from "../notify/notification-enqueue.js";
import type { TenureConfig } from "../policy/config-types.js";
import { NotFoundError, TenureError } from "../shared/errors.js";
import { accessRequestRepository } from "../store/access-request-repository.js";
import { assignmentRepository } from "../store/assignment-repository.js";
import type { Store } from "../store/database.js";
import { identityRepository } from "../store/identity-repository.js";
import type { Db } from "../store/schema-types.js";
import { type ItemPolicy, itemPolicy, requestSettings, resolveSteps } from "./request-approvers.js";
import { applyEffects, type CarriedOut, carryOut, describeItems } from "./request-effects.js";
import { checkRequestSod, describeConflict, ownerSteps, sodRefusal } from "./sod-check.js";

/** The longest justification accepted: a reason, not a document. */
export const MAX_JUSTIFICATION = 2_000;
const MAX_TICKET = 200;
const MAX_ITEMS = 20;

export interface SubmitRequestInput {
  /** Who asks: the identity acting (a token's or session's, or the CLI's `--as`). */
  requesterId: string;
  /** Who the access is for: the requester (absent) or one of their direct reports. */
  beneficiaryId?: string;
  items: readonly RequestItem[];
  justification: string;
  ticket?: string | null;
  /** How long the access lasts once granted; absent: the items' default. */
  durationMs?: number;
  /** `request` (standing access for a window) or `elevation` (an `elevation: true` role, for hours). */
  kind?: RequestKind;
  /** For `kind: extension`: the approved request whose access to prolong by `durationMs`. */
  extendsRequest?: string;
}

/** Why a submission was refused: a code, an HTTP status, and a message saying what and where. */
export class RequestInvalidError extends TenureError {
  constructor(code: string, message: string, httpStatus = 422) {
    super(code, `${message}; nothing was submitted`, { httpStatus });
  }
}

/**
 * Submits an access request, or refuses it having written nothing:
 * - the requester and the beneficiary are active, and the beneficiary is the requester or one of
 *   their direct reports;
 * - every item exists and is requestable (an elevation role only through `tenure elevate`, and only
 *   such a role there), and the beneficiary is eligible for it (`eligible`);
 * - a justification is given, the duration is within every item's `maxDuration`;
 * - no request of the beneficiary for one of the items is still pending;
 * - every approval step has someone other than the requester and the beneficiary to decide it.
 * Then, in one transaction: the request, its `request.submitted` audit event, and either the asks to
 * the first step's approvers or — when `autoApprove` holds within its quota, or for break-glass — the
 * approval and the grant. Provisioning of a grant follows the commit (see carryOut).
 */
export async function submitRequest(
  store: Store,
  config: TenureConfig,
  input: SubmitRequestInput,
  options: { now: Date; actor: string },
): Promise<CarriedOut> {
  const { now } = options;
  const kind = input.kind ?? "request";
  const requester = await identityRepository.findById(store.db, input.requesterId);
  if (requester === undefined) throw new NotFoundError(`no identity has the id "${input.requesterId}"`);
  if (requester.state !== "active") {
    throw new RequestInvalidError(
      "requester_not_active",
      `${requester.attributes.displayName} is ${requester.state}: only active people may ask for access`,
      403,
    );
  }
  const beneficiary =
    input.beneficiaryId === undefined || input.beneficiaryId === requester.id
      ? requester
      : await identityRepository.findById(store.db, input.beneficiaryId);
  if (beneficiary === undefined) throw new NotFoundError(`no identity has the id "${input.beneficiaryId}"`);
  checkBeneficiary(requester, beneficiary);

  const justification = input.justification.trim();
  if (justification === "") {
    throw new RequestInvalidError(
      "justification_required",
      "a justification is required: say why the access is needed",
    );
  }
  if (justification.length > MAX_JUSTIFICATION) {
    throw new RequestInvalidError(
      "justification_too_long",
      `the justification has ${justification.length} characters; at most ${MAX_JUSTIFICATION}`,
    );
  }
  const ticket = input.ticket?.trim() || null;
  if (ticket !== null && ticket.length > MAX_TICKET) {
    throw new RequestInvalidError(
      "ticket_too_long",
      `the ticket reference has more than ${MAX_TICKET} characters`,
    );
  }
  if (input.items.length === 0 || input.items.length > MAX_ITEMS) {
    throw new RequestInvalidError(
      "no_items",
      `a request asks for 1 to ${MAX_ITEMS} items; this one has ${input.items.length}`,
    );
  }

  const original = kind === "extension" ? await checkExtension(store, input, beneficiary, now) : null;
  const itemKind = original === null ? kind : (original.kind ?? "request");
  const items = input.items.map((item) => checkItem(config, item, itemKind, beneficiary));
  const maxMs = Math.min(...items.map((i) => i.requestable.maxDurationMs));
  const durationMs = input.durationMs ?? Math.min(...items.map((i) => i.requestable.defaultDurationMs));
  if (!(durationMs > 0)) throw new RequestInvalidError("invalid_duration", "the duration must be positive");
  if (durationMs > maxMs) {
    throw new RequestInvalidError(
      "duration_too_long",
      `${formatDuration(durationMs)} is longer than ${items.length === 1 ? `the maximum of ${items[0]!.label}` : "the shortest maximum of the items"}: ${formatDuration(maxMs)} (requestable.maxDuration)`,
    );
  }

  const pending = await accessRequestRepository.pendingOf(store.db, beneficiary.id);
  for (const open of pending) {
    const same = open.items.find((a) => input.items.some((b) => sameItem(a, b)));
    if (same !== undefined) {
      throw new RequestInvalidError(
        "duplicate_request",
        `request ${open.id} for ${describeItems([same])} of ${beneficiary.attributes.displayName} is still pending: cancel it or wait for its decision`,
        409,
      );
    }
  }

  const settings = requestSettings(config);
  // Separation of duties: a high-severity conflict is refused here; a medium one needs its rule's owner.
  const sod = await checkRequestSod(store.db, config, beneficiary, input.items, durationMs, now);
  if (sod.refused.length > 0) throw sodRefusal(config, beneficiary, sod.refused, "nothing was submitted");
  // An emergency is not held up for an owner: the detective scan reports its medium conflicts.
  const emergency = kind === "break-glass" || kind === "workflow";
  const needsOwner = emergency ? [] : sod.needsOwner;
  // Break-glass grants at once; a workflow's elevation is approved by its signed event.
  const auto =
    emergency ||
    (needsOwner.length === 0 && (await autoApproves(store, items, beneficiary, justification, ticket, now)));
  const ctx = { db: store.db, now, beneficiary, requester, fallback: settings.fallbackApprovers };
  const itemSteps = auto ? [] : await resolveSteps(items, ctx);
  if (typeof itemSteps === "string") throw new RequestInvalidError("no_approver", itemSteps);
  const sodSteps = await ownerSteps(store.db, config, needsOwner, items[0]!, { beneficiary, requester, now });
  if (typeof sodSteps === "string") throw new RequestInvalidError("no_approver", sodSteps);
  const steps = [...itemSteps, ...sodSteps];

  // A pending request never outlives the access it asks for: it expires by the beneficiary's end date.
  const endDate = beneficiary.attributes.endDate;
  const pendingUntil = Math.min(
    now.getTime() + settings.pendingExpiryMs,
    endDate === null ? Number.POSITIVE_INFINITY : Date.parse(`${endDate}T00:00:00Z`),
  );
  const request: AccessRequest = {
    id: newRequestId(now),
    kind,
    autoApproved: auto,
    requesterId: requester.id,
    beneficiaryId: beneficiary.id,
    items: input.items.map((i) => ({ ...i })),
    justification,
    ticket,
    durationMs,
    state: auto ? "approved" : "pending",
    steps,
    currentStep: 0,
    decisions: [],
    submittedAt: now.toISOString(),
    expiresAt: new Date(pendingUntil).toISOString(),
    closedAt: auto ? now.toISOString() : null,
    version: 1,
    ...(original !== null ? { extends: original.id } : {}),
  };
  const review =
    kind === "break-glass"
      ? await breakGlassReview(store, config, request, items, { requester, beneficiary, now })
      : null;
  return carryOut(
    store,
    config,
    async (trx) => {
      await accessRequestRepository.insert(trx, request);
      if (review !== null) {
        await accessRequestRepository.insert(trx, review);
        await tellSecurityContacts(trx, config, request, items, review, now);
      }
      await appendEvents(trx, [
        {
          time: now.toISOString(),
          actor: options.actor,
          action: kind === "request" ? "request.submitted" : `request.${kind}`,
          subject: `request:${request.id}`,
          details: {
            requester: requester.id,
            beneficiary: beneficiary.id,
            items: request.items,
            justification,
            ticket,
            durationMs,
            kind,
            autoApproved: auto,
            steps: steps.map((s) => ({ name: s.name, approvers: s.approvers, required: s.required })),
            expiresAt: request.expiresAt,
            ...(needsOwner.length + sod.noted.length > 0
              ? {
                  sod: [...needsOwner, ...sod.noted].map((v) => ({
                    rule: v.rule,
                    severity: v.severity,
                    conflict: describeConflict(config, v),
                  })),
                }
              : {}),
            ...(review !== null ? { review: review.id } : {}),
          },
        },
        ...(review === null
          ? []
          : [
              {
                time: now.toISOString(),
                actor: options.actor,
                action: "request.review_opened",
                subject: `request:${review.id}`,
                details: { of: request.id, reviewers: review.steps[0]?.approvers ?? [] },
              },
            ]),
      ]);
      if (review !== null) {
        await applyEffects(
          trx,
          config,
          review,
          [{ kind: "notify-approvers", step: 0, approvers: review.steps[0]?.approvers ?? [] }],
          options,
        );
      }
      return {
        request,
        effects: auto
          ? [
              { kind: "grant", items: request.items, durationMs },
              { kind: "notify-requester", outcome: "approved", step: null },
            ]
          : [{ kind: "notify-approvers", step: 0, approvers: steps[0]?.approvers ?? [] }],
      };
    },
    options,
  );
}

/**
 * The mandatory after-the-fact review of a break-glass elevation: a request of kind `review` for the
 * same access, decided by the role's owner (else the fallback approvers, else the security contacts).
 * Approving it accepts what was done; denying it ends the access at once (see decide).
 */
async function breakGlassReview(
  store: Store,
  config: TenureConfig,
  request: AccessRequest,
  items: readonly ItemPolicy[],
  people: { requester: Identity; beneficiary: Identity; now: Date },
): Promise<AccessRequest> {
  const settings = requestSettings(config);
  const ownerStep = items.map((i) => ({
    ...i,
    requestable: {
      ...i.requestable,
      approval: [
        {
          name: "owner",
          approvers: { kind: "owner" as const },
          required: 1,
          location: i.requestable.location,
        },
      ],
    },
  }));
  const steps = await resolveSteps(ownerStep, {
    db: store.db,
    now: people.now,
    beneficiary: people.beneficiary,
    requester: people.requester,
    fallback: [...settings.fallbackApprovers, ...settings.securityContacts],
  });
  if (typeof steps === "string") {
    throw new RequestInvalidError(
      "no_reviewer",
      `break-glass needs someone to review it afterwards, and ${steps.replace(/^nobody can decide/, "nobody can review")}`,
    );
  }
  return {
    ...request,
    id: `${request.id}-review`,
    kind: "review",
    autoApproved: false,
    state: "pending",
    steps: steps.map((s) => ({ ...s, name: `after-the-fact review by the ${s.name}` })),
    justification: `after-the-fact review of break-glass ${request.id}: ${request.justification}`,
    ticket: request.id,
    expiresAt: new Date(people.now.getTime() + settings.pendingExpiryMs).toISOString(),
    closedAt: null,
  };
}

/** Every security contact is told of a break-glass elevation at once (an outbox message each). */
async function tellSecurityContacts(
  trx: Db,
  config: TenureConfig,
  request: AccessRequest,
  items: readonly ItemPolicy[],
  review: AccessRequest,
  now: Date,
): Promise<void> {
  const settings = requestSettings(config);
  const beneficiary = await identityRepository.findById(trx, request.beneficiaryId);
  const reviewers = await identityRepository.findByIds(trx, review.steps[0]?.approvers ?? []);
  for (const contact of settings.securityContacts) {
    const person = await identityRepository.resolve(trx, contact);
    await enqueueNotifications(
      trx,
      {
        name: "access.break-glass",
        data: {
          requestId: request.id,
          to: person?.attributes.email ?? (contact.includes("@") ? contact : null),
          beneficiary: beneficiary?.attributes.displayName ?? request.beneficiaryId,
          role: items.map((i) => i.label).join(", "),
          justification: request.justification,
          ticket: request.ticket,
          until: new Date(now.getTime() + request.durationMs).toISOString(),
          reviewer: [...reviewers.values()].map((r) => r.attributes.displayName).join(", ") || "(none)",
        },
      },
      config,
      now,
    );
  }
}

/** Ids sort by submission: a listing by id is a listing by time. */
function newRequestId(now: Date): string {
  return `${now
    .toISOString()
    .replace(/[-:.TZ]/g, "")
    .slice(0, 14)}-${randomUUID().slice(0, 8)}`;
}

function sameItem(a: RequestItem, b: RequestItem): boolean {
  if (a.kind === "role" && b.kind === "role") return a.role === b.role;
  if (a.kind === "entitlement" && b.kind === "entitlement")
    return a.system === b.system && a.entitlement === b.entitlement;
  return false;
}

function checkBeneficiary(requester: Identity, beneficiary: Identity): void {
  if (beneficiary.id !== requester.id) {
    const report =
      beneficiary.source === requester.source && beneficiary.attributes.managerId === requester.sourceKey;
    if (!report) {
      throw new RequestInvalidError(
        "not_your_report",
        `${requester.attributes.displayName} may ask for themselves or for a direct report; ${beneficiary.attributes.displayName} is neither`,
        403,
      );
    }
  }
  if (beneficiary.state !== "active") {
    throw new RequestInvalidError(
      "beneficiary_not_active",
      `${beneficiary.attributes.displayName} is ${beneficiary.state}: access is requested only for active people`,
      409,
    );
  }
}

/**
 * An extension prolongs access that is still running: the original request was approved, is the
 * beneficiary's, and still has an open assignment now. Its items are the original's.
 */
async function checkExtension(
  store: Store,
  input: SubmitRequestInput,
  beneficiary: Identity,
  now: Date,
): Promise<AccessRequest> {
  const original =
    input.extendsRequest === undefined
      ? undefined
      : await accessRequestRepository.find(store.db, input.extendsRequest);
  if (original === undefined)
    throw new NotFoundError(`no access request has the id "${input.extendsRequest}"`);
  if (
    original.state !== "approved" ||
    original.beneficiaryId !== beneficiary.id ||
    original.kind === "review"
  ) {
    throw new RequestInvalidError(
      "not_extensible",
      `request ${original.id} is not approved access of ${beneficiary.attributes.displayName}: only running access can be extended`,
      409,
    );
  }
  const open = (await assignmentRepository.openOfRequest(store.db, original.id, now.toISOString())).filter(
    (a) => a.validUntil !== null,
  );
  if (open.length === 0) {
    throw new RequestInvalidError(
      "access_ended",
      `the access of request ${original.id} has ended: ask for it again (tenure request create)`,
      409,
    );
  }
  if (!sameItems(original.items, input.items)) {
    throw new RequestInvalidError(
      "not_extensible",
      `an extension asks for the same items as request ${original.id}`,
    );
  }
  return original;
}

function sameItems(a: readonly RequestItem[], b: readonly RequestItem[]): boolean {
  return a.length === b.length && a.every((x) => b.some((y) => sameItem(x, y)));
}

function checkItem(
  config: TenureConfig,
  item: RequestItem,
  kind: RequestKind,
  beneficiary: Identity,
): ItemPolicy {
  const found = itemPolicy(config.policy, item);
  if (typeof found === "string") throw new RequestInvalidError("not_requestable", found, 404);
  const elevating = kind !== "request";
  if (elevating && !found.elevation) {
    throw new RequestInvalidError(
      "not_an_elevation",
      `${found.label} is not an elevation role (elevation: true): request it with tenure request create`,
    );
  }
  if (!elevating && found.elevation) {
    throw new RequestInvalidError(
      "elevation_only",
      `${found.label} is held only by elevation: use tenure elevate --role ${item.kind === "role" ? item.role : ""}`,
    );
  }
  const eligible = found.requestable.eligible;
  if (eligible !== null) {
    const outcome = eligible.evaluate(beneficiary.attributes);
    if (!outcome.value) {
      throw new RequestInvalidError(
        "not_eligible",
        `${beneficiary.attributes.displayName} is not eligible for ${found.label}: ${eligible.source} (${eligible.location.file}:${eligible.location.line}) is false for them${outcome.error ? ` (${outcome.error})` : ""}`,
        403,
      );
    }
  }
  return found;
}

/**
 * Whether policy approves the request without a person: every item has `autoApprove`, its condition
 * holds for the beneficiary and the request, and the beneficiary's auto-approvals of the item within
 * its quota period are fewer than the quota. Past the quota, the approval steps decide.
 */
async function autoApproves(
  store: Store,
  items: readonly ItemPolicy[],
  beneficiary: Identity,
  justification: string,
  ticket: string | null,
  now: Date,
): Promise<boolean> {
  for (const item of items) {
    const auto = item.requestable.autoApprove;
    if (auto === null) return false;
    const values = { ...beneficiary.attributes, ticket: ticket ?? "", justification };
    if (!auto.when.evaluate(values as typeof beneficiary.attributes).value) return false;
    if (auto.quota !== null) {
      const since = new Date(now.getTime() - auto.quota.periodMs).toISOString();
      const used = (await accessRequestRepository.autoApprovedSince(store.db, beneficiary.id, since)).filter(
        (r) => r.items.some((i) => sameItem(i, item.item)),
      ).length;
      if (used >= auto.quota.max) return false;
    }
  }
  return true;
}
