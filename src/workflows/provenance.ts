import { type AuditEvent, identitySubjects, queryEvents } from "../audit/ledger.js";
import type { Lineage } from "../domain/access-types.js";
import type { Identity } from "../domain/identity-types.js";
import { configAt } from "../engine/config-versions.js";
import type { TenureConfig } from "../policy/config-types.js";
import { InvalidInputError, NotFoundError } from "../shared/errors.js";
import { identityRepository } from "../store/identity-repository.js";
import type { Store } from "../store/store-types.js";

/**
 * "Why did X have Y on date T?", answered from the ledger: the operation that put the access in the
 * target (confirmed, with its time and seq), and the chain behind it as it was then — the HR record
 * and the attributes the rule read, the rule's text at its file:line in the configuration in force at
 * the grant (config-versions.ts), the role chain; or the assignment, the request and each approval;
 * or the SoD exception that accepted holding it with something else. Every step names its ledger seq.
 */

export type ProvenanceKind =
  | "hr-record"
  | "rule"
  | "role"
  | "assignment"
  | "request"
  | "approval"
  | "lifecycle"
  | "grant"
  | "revoke"
  | "account"
  | "exception"
  | "not-held";

export interface ProvenanceStep {
  kind: ProvenanceKind;
  /** When it happened (ISO), if it is an event. */
  at: string | null;
  /** The ledger event it comes from. */
  seq: number | null;
  text: string;
  /** The rule's text as it was written then, with its line numbers. */
  source?: Array<{ line: number; text: string }>;
}

export interface Provenance {
  identity: { id: string; key: string; name: string | null };
  access: string;
  at: string;
  /** Whether the target held it at `at`, by the last confirmed grant or revoke before then. */
  held: boolean;
  /** Hash of the configuration in force at the grant. */
  configHash: string | null;
  steps: ProvenanceStep[];
}

const PAGE = 5_000;

async function eventsUntil(store: Store, subjects: readonly string[], until: Date): Promise<AuditEvent[]> {
  const out: AuditEvent[] = [];
  let afterSeq: number | undefined;
  for (;;) {
    const page = await queryEvents(store.db, {
      subject: subjects,
      until: new Date(until.getTime() + 1).toISOString(),
      limit: PAGE,
      ...(afterSeq === undefined ? {} : { afterSeq }),
    });
    out.push(...page);
    if (page.length < PAGE) return out;
    afterSeq = page[page.length - 1]!.seq;
  }
}

/** `system:entitlement` → its parts. */
function parseAccess(access: string): { system: string; entitlement: string } {
  const at = access.indexOf(":");
  if (at <= 0 || at === access.length - 1)
    throw new InvalidInputError(`access "${access}": expected SYSTEM:ENTITLEMENT, e.g. erp:ap-approve`);
  return { system: access.slice(0, at), entitlement: access.slice(at + 1) };
}

/** The lines of `text` from `line` while they belong to the same YAML node (indented deeper), at most 8. */
function sourceAt(text: string, line: number): Array<{ line: number; text: string }> {
  const lines = text.split("\n");
  const first = lines[line - 1];
  if (first === undefined) return [];
  const indent = first.length - first.trimStart().length;
  const out = [{ line, text: first }];
  for (let n = line; n < lines.length && out.length < 8; n++) {
    const l = lines[n]!;
    if (l.trim() === "") break;
    if (l.length - l.trimStart().length <= indent && !l.trimStart().startsWith("#")) break;
    out.push({ line: n + 1, text: l });
  }
  return out;
}

/** The identity's attributes as the ledger had them at `at`: created, then every change, in order. */
function attributesAt(events: readonly AuditEvent[]): Record<string, unknown> {
  let attributes: Record<string, unknown> = {};
  for (const e of events) {
    if (e.action === "identity.created" || e.action === "identity.rehired") {
      const a = e.details.attributes;
      if (a !== null && typeof a === "object") attributes = { ...(a as Record<string, unknown>) };
    } else if (e.action === "identity.updated") {
      const changes = (e.details.changes ?? {}) as Record<string, { after: unknown }>;
      for (const [k, c] of Object.entries(changes)) attributes[k] = c.after;
    }
  }
  return attributes;
}

async function resolveIdentity(store: Store, ref: string): Promise<Identity> {
  const found = await identityRepository.resolve(store.db, ref);
  if (found === undefined) throw new NotFoundError(`no identity has the id, HR key or email "${ref}"`);
  return found;
}

export async function explainAccess(
  store: Store,
  _config: TenureConfig,
  options: { identity: string; access: string; at: Date },
): Promise<Provenance> {
  const { system, entitlement } = parseAccess(options.access);
  const identity = await resolveIdentity(store, options.identity);
  const at = options.at;
  const events = await eventsUntil(store, identitySubjects(identity.id), at);
  const base: Omit<Provenance, "held" | "steps" | "configHash"> = {
    identity: { id: identity.id, key: identity.sourceKey, name: identity.attributes.displayName },
    access: options.access,
    at: at.toISOString(),
  };

  // The last confirmed grant or revoke of this entitlement in this system, and the account's state.
  let grant: AuditEvent | undefined;
  let revoke: AuditEvent | undefined;
  let account: AuditEvent | undefined;
  for (const e of events) {
    if (e.action !== "operation.succeeded" || e.details.system !== system) continue;
    const kind = e.details.kind;
    if (kind === "grant" && e.details.entitlement === entitlement) {
      grant = e;
      revoke = undefined;
    } else if (kind === "revoke" && e.details.entitlement === entitlement) {
      revoke = e;
    } else if (kind === "create" || kind === "enable" || kind === "disable" || kind === "delete") account = e;
  }
  if (grant === undefined || revoke !== undefined) {
    const steps: ProvenanceStep[] = [];
    if (revoke !== undefined)
      steps.push({
        kind: "revoke",
        at: revoke.time,
        seq: revoke.seq,
        text: `${system} confirmed ${entitlement} revoked from ${String(revoke.details.username)}: ${String(revoke.details.reason ?? "")}`.trim(),
      });
    steps.push({
      kind: "not-held",
      at: null,
      seq: null,
      text:
        revoke !== undefined
          ? `not held at ${at.toISOString()}: revoked before then`
          : `no confirmed grant of ${options.access} to ${identity.sourceKey} before ${at.toISOString()} in the ledger (access found in the target without Tenure granting it shows in the account journal, tenure audit access)`,
    });
    return { ...base, held: false, configHash: null, steps };
  }

  const steps: ProvenanceStep[] = [];
  const before = events.filter((e) => e.seq < grant.seq);
  const config = await configAt(store, new Date(grant.time));
  const identityEvents = before.filter((e) => e.action.startsWith("identity."));
  const created = identityEvents.find((e) => e.action === "identity.created");
  if (created !== undefined)
    steps.push({
      kind: "hr-record",
      at: created.time,
      seq: created.seq,
      text: `HR record ${identity.source}/${identity.sourceKey}: ${String(created.details.reason ?? "created")}`,
    });
  const attributes = attributesAt(identityEvents);
  for (const lineage of (grant.details.lineage ?? []) as Lineage[]) {
    steps.push(
      ...(await lineageSteps(lineage, { store, events, attributes, configText: config?.text ?? null, at })),
    );
  }
  steps.push({
    kind: "grant",
    at: grant.time,
    seq: grant.seq,
    text: `${system} confirmed ${entitlement} granted to account ${String(grant.details.username)} (operation ${String(grant.details.operationId)})`,
  });
  if (account !== undefined)
    steps.push({
      kind: "account",
      at: account.time,
      seq: account.seq,
      text: `account ${String(account.details.username)} in ${system}: last ${String(account.details.kind)} confirmed before ${at.toISOString()}${account.details.kind === "disable" || account.details.kind === "delete" ? " — the access was not usable then" : ""}`,
    });
  for (const e of events) {
    if (e.action !== "sod.exception_approved") continue;
    if (!JSON.stringify(e.details).includes(JSON.stringify(options.access).slice(1, -1))) continue;
    steps.push({
      kind: "exception",
      at: e.time,
      seq: e.seq,
      text: `separation-of-duties exception to ${String(e.details.rule)} approved by ${String(e.details.approvedBy)} until ${String(e.details.expiresAt)}: ${String(e.details.control)}`,
    });
  }
  return { ...base, held: true, configHash: config?.hash ?? null, steps };
}

interface LineageContext {
  store: Store;
  /** The identity's events up to `at`. */
  events: readonly AuditEvent[];
  attributes: Record<string, unknown>;
  configText: string | null;
  at: Date;
}

async function lineageSteps(lineage: Lineage, ctx: LineageContext): Promise<ProvenanceStep[]> {
  switch (lineage.kind) {
    case "role": {
      const steps: ProvenanceStep[] = [];
      const rule = lineage.rule;
      if (rule !== null) {
        const read = Object.entries(ctx.attributes)
          .filter(([k]) => new RegExp(`\\b${k}\\b`).test(rule.source))
          .map(([k, v]) => `${k}=${JSON.stringify(v)}`);
        steps.push({
          kind: "rule",
          at: null,
          seq: null,
          text: `rule ${JSON.stringify(rule.source)} at ${rule.location.file}:${rule.location.line}${read.length > 0 ? ` matched ${read.join(", ")}` : ""}`,
          ...(ctx.configText === null ? {} : { source: sourceAt(ctx.configText, rule.location.line) }),
        });
      }
      steps.push({
        kind: "role",
        at: null,
        seq: null,
        text: `role ${lineage.chain.length > 1 ? lineage.chain.join(" → ") : lineage.role}`,
      });
      return steps;
    }
    case "assignment": {
      const steps: ProvenanceStep[] = [];
      const granted = ctx.events.find(
        (e) => e.action === "assignment.granted" && e.details.assignment === lineage.assignmentId,
      );
      steps.push({
        kind: "assignment",
        at: granted?.time ?? null,
        seq: granted?.seq ?? null,
        text: `assignment ${lineage.assignmentId} of ${lineage.target}${lineage.validUntil === null ? "" : ` until ${lineage.validUntil}`}${granted?.details.approvedBy ? `, approved by ${String(granted.details.approvedBy)}` : ""}`,
      });
      const requestId = lineage.requestId ?? (granted?.details.request as string | undefined);
      if (requestId !== undefined) {
        for (const e of await eventsUntil(ctx.store, [`request:${requestId}`], ctx.at)) {
          if (e.action === "request.submitted" || e.action === "request.elevation")
            steps.push({
              kind: "request",
              at: e.time,
              seq: e.seq,
              text: `request ${requestId} by ${String(e.details.requester)}: ${String(e.details.justification ?? "")}`.trim(),
            });
          else if (
            e.action === "request.approval_recorded" ||
            e.action === "request.step_passed" ||
            e.action === "request.approved"
          )
            steps.push({
              kind: "approval",
              at: e.time,
              seq: e.seq,
              text: `${e.action.slice("request.".length).replaceAll("_", " ")}${e.details.by === undefined ? "" : ` by ${String(e.details.by)}`}${e.details.step === undefined ? "" : ` (step ${String(e.details.step)})`}`,
            });
        }
      }
      return steps;
    }
    case "lifecycle":
      return [{ kind: "lifecycle", at: null, seq: null, text: `${lineage.policy}: ${lineage.note}` }];
    case "mover-grace":
      return [
        {
          kind: "lifecycle",
          at: null,
          seq: null,
          text: `kept after a move until ${lineage.until}, first given as:`,
        },
        ...(await lineageSteps(lineage.from, ctx)),
      ];
  }
}
