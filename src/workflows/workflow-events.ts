import { createHmac, timingSafeEqual } from "node:crypto";
import { appendEvents } from "../audit/ledger.js";
import { isGone } from "../domain/lifecycle.js";
import type { TenureConfig, WorkflowConfig } from "../policy/config-types.js";
import { TenureError } from "../shared/errors.js";
import type { Store } from "../store/database.js";
import { identityRepository } from "../store/identity-repository.js";
import { workflowRepository } from "../store/workflow-repository.js";
import { revokeRequestAccess } from "./request-revocation.js";
import { submitRequest } from "./request-submission.js";

/** What a workflow event says, whatever the sender's format. */
export interface WorkflowEvent {
  /** The sender's id of this event: a second delivery of it is refused. */
  id: string;
  kind: "open" | "close";
  /** The incident, change or shift: what the grants are bound to. */
  incident: string;
  /** People to elevate on open (email, HR key or identity id); ignored on close. */
  responders: string[];
  /** When the sender says it happened (ISO-8601). */
  at: string;
}

export class WorkflowEventError extends TenureError {
  constructor(code: string, message: string, httpStatus: number) {
    super(code, `${message}; nothing was changed`, { httpStatus });
  }
}

const MAX_RESPONDERS = 50;

function sameHex(expected: string, given: string): boolean {
  const a = Buffer.from(expected, "utf8");
  const b = Buffer.from(given, "utf8");
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * Checks the signature of a delivery and reads the event, or refuses it (401 unsigned or badly signed,
 * 400 unreadable, 409 stale). `generic`: headers `X-Tenure-Timestamp` (Unix seconds) and
 * `X-Tenure-Signature: sha256=HEX`, the HMAC-SHA256 of `TIMESTAMP.BODY` with the shared secret.
 * `pagerduty`: `X-PagerDuty-Signature: v1=HEX` (HMAC-SHA256 of the body; several comma-separated while
 * a secret rotates), the time from the event's `occurred_at`. Either way an event older or newer than
 * the workflow's tolerance is refused as a replay, as is an event id already accepted (see
 * {@link handleWorkflowEvent}).
 */
export function verifyWorkflowEvent(
  workflow: WorkflowConfig,
  headers: Readonly<Record<string, string | string[] | undefined>>,
  rawBody: string,
  now: Date,
): WorkflowEvent {
  const header = (name: string) => {
    const v = headers[name];
    return Array.isArray(v) ? v[0] : v;
  };
  let body: unknown;
  const parse = () => {
    try {
      body = JSON.parse(rawBody);
    } catch {
      throw new WorkflowEventError("invalid_event", "the body is not JSON", 400);
    }
  };
  let event: WorkflowEvent;
  if (workflow.format === "generic") {
    const timestamp = header("x-tenure-timestamp");
    const signature = header("x-tenure-signature");
    if (timestamp === undefined || signature === undefined) {
      throw new WorkflowEventError(
        "unsigned",
        "expected the headers X-Tenure-Timestamp and X-Tenure-Signature",
        401,
      );
    }
    const expected = `sha256=${createHmac("sha256", workflow.secret).update(`${timestamp}.${rawBody}`).digest("hex")}`;
    if (!sameHex(expected, signature))
      throw new WorkflowEventError("bad_signature", "the signature does not match", 401);
    if (!/^\d{1,12}$/.test(timestamp))
      throw new WorkflowEventError("invalid_event", "X-Tenure-Timestamp is not Unix seconds", 400);
    parse();
    event = readGeneric(body, new Date(Number(timestamp) * 1000).toISOString());
  } else {
    const given = header("x-pagerduty-signature");
    if (given === undefined)
      throw new WorkflowEventError("unsigned", "expected the header X-PagerDuty-Signature", 401);
    const expected = `v1=${createHmac("sha256", workflow.secret).update(rawBody).digest("hex")}`;
    if (!given.split(",").some((s) => sameHex(expected, s.trim()))) {
      throw new WorkflowEventError("bad_signature", "the signature does not match", 401);
    }
    parse();
    event = readPagerDuty(body);
  }
  const skew = Math.abs(now.getTime() - Date.parse(event.at));
  if (!(skew <= workflow.toleranceMs)) {
    throw new WorkflowEventError(
      "stale_event",
      `the event is from ${event.at}, further from now than the workflow's tolerance: refused as a replay`,
      409,
    );
  }
  return event;
}

function text(value: unknown, what: string, max = 200): string {
  if (typeof value !== "string" || value.trim() === "" || value.length > max) {
    throw new WorkflowEventError("invalid_event", `expected ${what} (text of 1 to ${max} characters)`, 400);
  }
  return value.trim();
}

function responders(list: unknown): string[] {
  if (list === undefined) return [];
  if (!Array.isArray(list) || list.length > MAX_RESPONDERS) {
    throw new WorkflowEventError(
      "invalid_event",
      `expected responders: a list of at most ${MAX_RESPONDERS} people`,
      400,
    );
  }
  return list.map((r) => text(r, "a responder (email, HR key or id)"));
}

/** `{ id, type: open|close, incident, responders: [..] }`. */
function readGeneric(body: unknown, at: string): WorkflowEvent {
  const b = (body ?? {}) as Record<string, unknown>;
  const type = b.type;
  if (type !== "open" && type !== "close")
    throw new WorkflowEventError("invalid_event", "expected type: open or close", 400);
  return {
    id: text(b.id, "id"),
    kind: type,
    incident: text(b.incident, "incident"),
    responders: responders(b.responders),
    at,
  };
}

/** PagerDuty v3: `event.event_type` incident.triggered / .acknowledged open, .resolved closes. */
function readPagerDuty(body: unknown): WorkflowEvent {
  const e = ((body ?? {}) as { event?: Record<string, unknown> }).event ?? {};
  const type = e.event_type;
  const kind =
    type === "incident.triggered" || type === "incident.acknowledged" || type === "incident.reassigned"
      ? "open"
      : type === "incident.resolved"
        ? "close"
        : null;
  if (kind === null)
    throw new WorkflowEventError("ignored_event", `event type ${String(type)} neither opens nor closes`, 422);
  const data = (e.data ?? {}) as Record<string, unknown>;
  const assignees = Array.isArray(data.assignees) ? (data.assignees as Array<Record<string, unknown>>) : [];
  return {
    id: text(e.id, "event.id"),
    kind,
    incident: text(data.number !== undefined ? `PD-${String(data.number)}` : data.id, "event.data.id"),
    responders: responders(assignees.map((a) => a.email ?? a.summary)),
    at: text(e.occurred_at, "event.occurred_at"),
  };
}

export interface WorkflowOutcome {
  event: WorkflowEvent;
  granted: Array<{ identity: string; request: string; until: string | null }>;
  refused: Array<{ responder: string; reason: string }>;
  revoked: number;
}

/**
 * Carries out a verified event once (its id is recorded first: a replay is refused with 409). Open:
 * each responder who is active and eligible is elevated to the workflow's role for its maxDuration (an
 * auto-approved `workflow` request, the incident as its ticket and in the lineage); a responder who is
 * not is listed with why. Close: every grant of the incident is ended now and read back.
 */
export async function handleWorkflowEvent(
  store: Store,
  config: TenureConfig,
  workflow: WorkflowConfig,
  event: WorkflowEvent,
  now: Date,
): Promise<WorkflowOutcome> {
  const actor = `workflow:${workflow.name}`;
  if (!(await workflowRepository.accept(store.db, workflow.name, event.id, now.toISOString()))) {
    throw new WorkflowEventError(
      "replayed_event",
      `event ${event.id} of workflow ${workflow.name} was received before`,
      409,
    );
  }
  await appendEvents(store.db, [
    {
      time: now.toISOString(),
      actor,
      action: `workflow.${event.kind}`,
      subject: `workflow:${workflow.name}`,
      details: { event: event.id, incident: event.incident, responders: event.responders, at: event.at },
    },
  ]);
  const outcome: WorkflowOutcome = { event, granted: [], refused: [], revoked: 0 };
  if (event.kind === "open") {
    for (const ref of event.responders) {
      const person = await identityRepository.resolve(store.db, ref);
      if (person === undefined || isGone(person.state)) {
        outcome.refused.push({
          responder: ref,
          reason: person === undefined ? "no such identity" : `${person.state}`,
        });
        continue;
      }
      try {
        const carried = await submitRequest(
          store,
          config,
          {
            requesterId: person.id,
            items: [{ kind: "role", role: workflow.role }],
            justification: `workflow ${workflow.name}: ${event.incident} opened`,
            ticket: event.incident,
            durationMs: workflow.maxDurationMs,
            kind: "workflow",
          },
          { now, actor },
        );
        await workflowRepository.addGrant(store.db, {
          workflow: workflow.name,
          incident: event.incident,
          requestId: carried.request.id,
          identityId: person.id,
          openedAt: now.toISOString(),
        });
        outcome.granted.push({
          identity: person.id,
          request: carried.request.id,
          until: carried.assignments[0]?.validUntil ?? null,
        });
      } catch (err) {
        if (!(err instanceof TenureError)) throw err;
        outcome.refused.push({ responder: ref, reason: err.message });
      }
    }
    return outcome;
  }
  const grants = await workflowRepository.openGrants(store.db, workflow.name, event.incident);
  for (const g of grants) {
    try {
      const ended = await revokeRequestAccess(store, config, g.requestId, {
        by: null,
        asAdmin: true,
        now,
        actor,
        reason: `${event.incident} closed`,
      });
      outcome.revoked += ended.confirmed.length + ended.unconfirmed.length;
    } catch (err) {
      // Already ended (its maximum came first, or someone ended it early): nothing to revoke.
      if (!(err instanceof TenureError && err.code === "nothing_to_revoke")) throw err;
    }
  }
  await workflowRepository.closeGrants(store.db, workflow.name, event.incident, now.toISOString());
  return outcome;
}
