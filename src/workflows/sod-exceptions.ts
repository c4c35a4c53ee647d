import { randomUUID } from "node:crypto";
import { appendEvents } from "../audit/ledger.js";
import type { Identity } from "../domain/identity-types.js";
import type { AccessRequest } from "../domain/request-types.js";
import { sodOf } from "../engine/sod-access.js";
import { ownerEmail, scanChanged } from "../engine/sod-scan.js";
import { enqueueNotifications } from "../notify/notification-enqueue.js";
import type { TenureConfig } from "../policy/config-types.js";
import { NotFoundError, TenureError } from "../shared/errors.js";
import type { Store } from "../store/database.js";
import { identityRepository } from "../store/identity-repository.js";
import type { Db } from "../store/schema-types.js";
import {
  type SodException,
  sodExceptionRepository,
  sodViolationRepository,
} from "../store/sod-repository.js";
import { provisionNow } from "./provision-now.js";

/**
 * Exceptions: a violation accepted for a while, with a mitigating control, a justification and an
 * approver who is never the holder. While one is in force the violation stays listed (an auditor sees
 * it, accepted); when it expires or is revoked, the violation is plain again and the rule owner is told.
 */

export const MAX_CONTROL = 500;
export const MAX_EXCEPTION_JUSTIFICATION = 2_000;
/** An exception is a bounded acceptance, not a permanent waiver: at most a year, then decide again. */
export const MAX_EXCEPTION_MS = 366 * 86_400_000;

export interface AcceptInput {
  violationId: string;
  /** Who approves: the identity acting. Never the holder. */
  approverId: string;
  /** The approver acts as a platform admin; otherwise they must own the rule. */
  asAdmin: boolean;
  /** The mitigating control; absent: the rule's first `mitigations` entry. */
  control?: string;
  justification: string;
  expiresAt: Date;
}

export class ExceptionRefusedError extends TenureError {
  constructor(code: string, message: string, httpStatus = 422) {
    super(code, `${message}; nothing was changed`, { httpStatus });
  }
}

/**
 * Accepts an open violation until `expiresAt`: refused (nothing written) when the approver holds the
 * access, does not own the rule (unless an admin), the control or justification is missing, or the
 * expiry is past or more than a year away. Writes the exception and its `sod.exception_approved` event
 * in one transaction; access the violation withheld is then provisioned.
 */
export async function acceptViolation(
  store: Store,
  config: TenureConfig,
  input: AcceptInput,
  options: { now: Date; actor: string },
): Promise<SodException> {
  const { now } = options;
  const violation = await sodViolationRepository.find(store.db, input.violationId);
  if (violation === undefined) throw new NotFoundError(`no violation has the id "${input.violationId}"`);
  if (violation.closedAt !== null) {
    throw new ExceptionRefusedError(
      "violation_closed",
      `violation ${violation.id} closed at ${violation.closedAt} (${violation.closeReason}): there is nothing to accept`,
      409,
    );
  }
  const rule = sodOf(config.policy).rules[violation.rule];
  if (rule === undefined) {
    throw new ExceptionRefusedError("rule_gone", `rule ${violation.rule} is no longer configured`, 409);
  }
  const approver = await identityRepository.findById(store.db, input.approverId);
  if (approver === undefined) throw new NotFoundError(`no identity has the id "${input.approverId}"`);
  if (approver.id === violation.identityId) {
    throw new ExceptionRefusedError(
      "self_exception",
      `${approver.attributes.displayName} holds the conflicting access: nobody accepts their own violation`,
      403,
    );
  }
  if (approver.state !== "active") {
    throw new ExceptionRefusedError(
      "approver_not_active",
      `${approver.attributes.displayName} is ${approver.state}`,
      403,
    );
  }
  const owner = rule.owner === null ? undefined : await identityRepository.resolve(store.db, rule.owner);
  if (!input.asAdmin && owner?.id !== approver.id) {
    throw new ExceptionRefusedError(
      "not_rule_owner",
      `${approver.attributes.displayName} does not own rule ${rule.name} (owner: ${rule.owner ?? "none"}): the owner or a platform admin accepts its violations`,
      403,
    );
  }
  const control = (input.control ?? rule.mitigations[0]?.control ?? "").trim();
  if (control === "" || control.length > MAX_CONTROL) {
    throw new ExceptionRefusedError(
      "control_required",
      control === ""
        ? `name the mitigating control (rule ${rule.name} configures none under mitigations)`
        : `the control has more than ${MAX_CONTROL} characters`,
    );
  }
  const justification = input.justification.trim();
  if (justification === "" || justification.length > MAX_EXCEPTION_JUSTIFICATION) {
    throw new ExceptionRefusedError(
      "justification_required",
      justification === ""
        ? "a justification is required: say why the conflict is accepted"
        : `the justification has more than ${MAX_EXCEPTION_JUSTIFICATION} characters`,
    );
  }
  const ms = input.expiresAt.getTime();
  if (!(ms > now.getTime()) || ms - now.getTime() > MAX_EXCEPTION_MS) {
    throw new ExceptionRefusedError(
      "invalid_expiry",
      Number.isNaN(ms) || ms <= now.getTime()
        ? "the expiry must be in the future"
        : "an exception lasts at most a year: decide again then",
    );
  }
  const exception: SodException = {
    id: randomUUID(),
    identityId: violation.identityId,
    rule: rule.name,
    violationId: violation.id,
    requestId: null,
    control,
    justification,
    approvedBy: approver.id,
    approvedAt: now.toISOString(),
    expiresAt: input.expiresAt.toISOString(),
    revokedAt: null,
    revokedBy: null,
    endedAt: null,
  };
  await store.db.transaction().execute(async (trx) => {
    // Two approvers at once: the second finds the first's exception and writes nothing.
    await identityRepository.lockRow(trx, violation.identityId);
    const existing = (
      await sodExceptionRepository.inForce(trx, now.toISOString(), [violation.identityId])
    ).find((e) => e.rule === rule.name);
    if (existing !== undefined) {
      throw new ExceptionRefusedError(
        "already_excepted",
        `exception ${existing.id} already accepts this until ${existing.expiresAt}`,
        409,
      );
    }
    await sodExceptionRepository.insert(trx, exception);
    await appendEvents(trx, [exceptionEvent(exception, options.actor, "sod.exception_approved")]);
  });
  if (violation.withheld) {
    // The withheld access may now be granted: provision the holder, and the scan marks it open.
    await provisionNow(store, config, [violation.identityId], options, `exception ${exception.id}`);
  }
  await scanChanged(store, config, [violation.identityId], options);
  return exception;
}

/** A medium conflict its rule's owner approved in a request: an exception for the access's window. */
export async function acceptByRequest(
  trx: Db,
  config: TenureConfig,
  input: {
    identityId: string;
    rule: string;
    approvedBy: string;
    request: AccessRequest;
    expiresAt: string;
    now: Date;
    actor: string;
  },
): Promise<SodException> {
  const rule = sodOf(config.policy).rules[input.rule];
  const exception: SodException = {
    id: randomUUID(),
    identityId: input.identityId,
    rule: input.rule,
    violationId: null,
    requestId: input.request.id,
    control: rule?.mitigations[0]?.control ?? "approved by the rule owner in the access request",
    justification: `request ${input.request.id}: ${input.request.justification}`,
    approvedBy: input.approvedBy,
    approvedAt: input.now.toISOString(),
    expiresAt: input.expiresAt,
    revokedAt: null,
    revokedBy: null,
    endedAt: null,
  };
  await sodExceptionRepository.insert(trx, exception);
  await appendEvents(trx, [exceptionEvent(exception, input.actor, "sod.exception_approved")]);
  return exception;
}

function exceptionEvent(e: SodException, actor: string, action: string, time = e.approvedAt) {
  return {
    time,
    actor,
    action,
    subject: `identity:${e.identityId}`,
    details: {
      exception: e.id,
      rule: e.rule,
      violation: e.violationId,
      request: e.requestId,
      control: e.control,
      justification: e.justification,
      approvedBy: e.approvedBy,
      expiresAt: e.expiresAt,
      ...(e.revokedAt !== null ? { revokedBy: e.revokedBy } : {}),
    },
  };
}

/** Ends an exception before its expiry: the violation is plain again at once (endDueExceptions). */
export async function revokeException(
  store: Store,
  config: TenureConfig,
  id: string,
  by: Identity | null,
  options: { now: Date; actor: string },
): Promise<SodException> {
  const e = await sodExceptionRepository.find(store.db, id);
  if (e === undefined) throw new NotFoundError(`no exception has the id "${id}"`);
  const at = options.now.toISOString();
  if (e.revokedAt !== null || e.expiresAt <= at) {
    throw new ExceptionRefusedError("exception_ended", `exception ${id} has already ended`, 409);
  }
  await store.db.transaction().execute(async (trx) => {
    await sodExceptionRepository.revoke(trx, id, by?.id ?? options.actor, at);
    await appendEvents(trx, [
      exceptionEvent(
        { ...e, revokedAt: at, revokedBy: by?.id ?? options.actor },
        options.actor,
        "sod.exception_revoked",
        at,
      ),
    ]);
  });
  await endDueExceptions(store, config, options);
  return (await sodExceptionRepository.find(store.db, id))!;
}

/**
 * Exceptions that expired or were revoked by `now` and are not processed yet: each gets its
 * `sod.exception_expired` (or `_ended`) event and its rule owner a `sod.exception-ended` message, once;
 * then the holders are scanned again, so a conflict still held is a plain violation from now on.
 */
export async function endDueExceptions(
  store: Store,
  config: TenureConfig,
  options: { now: Date; actor: string },
): Promise<SodException[]> {
  const now = options.now;
  const due = await sodExceptionRepository.endedUnprocessed(store.db, now.toISOString(), 500);
  if (due.length === 0) return [];
  const holders = await identityRepository.findByIds(store.db, [...new Set(due.map((e) => e.identityId))]);
  const rules = sodOf(config.policy).rules;
  const done: SodException[] = [];
  await store.db.transaction().execute(async (trx) => {
    for (const e of due) {
      if (!(await sodExceptionRepository.markEnded(trx, e.id, now.toISOString()))) continue;
      const how = e.revokedAt !== null ? "revoked" : "expired";
      const at = e.revokedAt ?? e.expiresAt;
      await appendEvents(trx, [
        {
          time: now.toISOString(),
          actor: options.actor,
          action: how === "expired" ? "sod.exception_expired" : "sod.exception_ended",
          subject: `identity:${e.identityId}`,
          details: {
            exception: e.id,
            rule: e.rule,
            at,
            lateSeconds: Math.round((now.getTime() - Date.parse(at)) / 1000),
          },
        },
      ]);
      const owner = rules[e.rule]?.owner ?? null;
      await enqueueNotifications(
        trx,
        {
          name: "sod.exception-ended",
          data: {
            exceptionId: e.id,
            to: owner === null ? null : await ownerEmail(trx, owner),
            rule: e.rule,
            holder: holders.get(e.identityId)?.attributes.displayName ?? e.identityId,
            how,
            at,
            control: e.control,
          },
        },
        config,
        now,
      );
      done.push(e);
    }
  });
  await scanChanged(
    store,
    config,
    done.map((e) => e.identityId),
    options,
  );
  return done;
}
