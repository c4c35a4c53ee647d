import type { Lineage } from "../domain/access-types.js";
import { describeAssignmentTarget } from "../domain/assignment-status.js";
import type { Identity } from "../domain/identity-types.js";
import { formatLocation } from "../domain/lineage-format.js";
import type { ApprovalStep, RequestItem } from "../domain/request-types.js";
import { describeHolding } from "../domain/sod.js";
import type { Holding, SodViolation } from "../domain/sod-holding-types.js";
import { formatSodItem, roleItems } from "../domain/sod-role-check.js";
import type { SodItem } from "../domain/sod-types.js";
import { evaluateIdentity, loadAccessData, sodOf } from "../engine/sod-access.js";
import type { TenureConfig } from "../policy/config-types.js";
import { TenureError } from "../shared/errors.js";
import type { Db } from "../store/schema-types.js";
import { type ItemPolicy, requestSettings, resolveSteps } from "./request-approvers.js";

/**
 * The preventive side of separation of duties: what a request would add to its beneficiary's effective
 * access, checked against every rule before it is submitted and again, under a lock on the beneficiary,
 * when it is granted — so two requests each harmless alone, decided at the same moment, cannot both be
 * granted. A high-severity conflict refuses; a medium one needs the rule owner's approval as an extra
 * step; a low one is let through and left to the detective scan.
 */

/** The step name a medium conflict adds: the grant knows the owner approved by it. */
export function sodStepName(rule: string): string {
  return `separation of duties: owner of rule ${rule}`;
}

/** What a request's items would conflict with, by how the conflict is handled. */
export interface RequestSodCheck {
  refused: SodViolation[];
  needsOwner: SodViolation[];
  noted: SodViolation[];
}

const REQUESTED = "(this request)";

/** The holdings a request would add: each item (a role with what it includes and grants) for the window. */
function requestedHoldings(
  config: TenureConfig,
  items: readonly RequestItem[],
  from: Date,
  until: Date,
): Holding[] {
  const out: Holding[] = [];
  for (const item of items) {
    const label = describeAssignmentTarget(
      item.kind === "role" ? { role: item.role } : { system: item.system, entitlement: item.entitlement },
    );
    const lineage: Lineage = {
      kind: "assignment",
      assignmentId: REQUESTED,
      target: label,
      validUntil: until.toISOString(),
    };
    const held: SodItem[] =
      item.kind === "role"
        ? roleItems(config.policy, item.role)
        : [{ kind: "entitlement", system: item.system, entitlement: item.entitlement }];
    for (const h of held) {
      out.push({
        item: h,
        from: from.toISOString(),
        until: until.toISOString(),
        source: "desired",
        lineage: [lineage],
      });
    }
  }
  return out;
}

/**
 * The conflicts `items` held by `beneficiary` from `now` for `durationMs` would create with what they
 * hold (or will hold), less rules with an exception in force for them. Reads only.
 */
export async function checkRequestSod(
  db: Db,
  config: TenureConfig,
  beneficiary: Identity,
  items: readonly RequestItem[],
  durationMs: number,
  now: Date,
): Promise<RequestSodCheck> {
  const out: RequestSodCheck = { refused: [], needsOwner: [], noted: [] };
  if (Object.keys(sodOf(config.policy).rules).length === 0) return out;
  const extra = requestedHoldings(config, items, now, new Date(now.getTime() + durationMs));
  const mine = new Set(extra);
  const data = await loadAccessData(db, now, [beneficiary.id], config);
  const result = evaluateIdentity(config, beneficiary, data, now, extra, (h) => mine.has(h));
  for (const v of result.violations) {
    if (result.exceptions.some((e) => e.rule === v.rule)) continue;
    if (v.severity === "high") out.refused.push(v);
    else if (v.severity === "medium") out.needsOwner.push(v);
    else out.noted.push(v);
  }
  return out;
}

/** `role x would be held with erp:y (birthright role ap-clerk): rule r (tenure.yaml:40, high): risk`. */
export function describeConflict(config: TenureConfig, v: SodViolation): string {
  const rule = sodOf(config.policy).rules[v.rule];
  const requested = v.sides.filter((s) => s.holdings.some((h) => h.lineage.some(isRequested)));
  const held = v.sides.filter((s) => !requested.includes(s));
  const asked = requested.map((s) => formatSodItem(s.item)).join(", ");
  const against = held
    .map(
      (s) =>
        `${formatSodItem(s.item)} (${[...new Set(s.holdings.filter((h) => !h.lineage.some(isRequested)).map((h) => describeHolding(h)))].join("; ")})`,
    )
    .join(", ");
  const where = rule === undefined ? "" : ` (${formatLocation(rule.location)}, ${rule.severity})`;
  const risk = rule === undefined ? "" : `: ${rule.description}`;
  return `${asked} would be held together with ${against || "each other"}, which separation-of-duties rule ${v.rule}${where} forbids${risk}`;
}

function isRequested(l: Lineage): boolean {
  return l.kind === "assignment" && l.assignmentId === REQUESTED;
}

/** The refusal of a high-severity conflict: which rule, and which held access collides. */
export function sodRefusal(
  config: TenureConfig,
  beneficiary: Identity,
  conflicts: readonly SodViolation[],
  tail: string,
): TenureError {
  const what = conflicts.map((v) => describeConflict(config, v)).join("; ");
  return new TenureError("sod_conflict", `${beneficiary.attributes.displayName}: ${what}; ${tail}`, {
    httpStatus: 409,
  });
}

/**
 * One extra approval step per medium conflict, decided by the rule's owner (else the fallback
 * approvers) — never by the requester or the beneficiary. A string when nobody can decide it.
 */
export async function ownerSteps(
  db: Db,
  config: TenureConfig,
  conflicts: readonly SodViolation[],
  base: ItemPolicy,
  people: { beneficiary: Identity; requester: Identity; now: Date },
): Promise<ApprovalStep[] | string> {
  const rules = sodOf(config.policy).rules;
  const steps: ApprovalStep[] = [];
  for (const v of conflicts) {
    const rule = rules[v.rule]!;
    const resolved = await resolveSteps(
      [
        {
          ...base,
          label: `separation-of-duties rule ${rule.name}`,
          requestable: {
            ...base.requestable,
            approval: [
              {
                name: sodStepName(rule.name),
                approvers: { kind: "identities", refs: rule.owner === null ? [] : [rule.owner] },
                required: 1,
                location: rule.location,
              },
            ],
          },
        },
      ],
      {
        db,
        now: people.now,
        beneficiary: people.beneficiary,
        requester: people.requester,
        fallback: requestSettings(config).fallbackApprovers,
      },
    );
    if (typeof resolved === "string") return resolved;
    steps.push(...resolved);
  }
  return steps;
}
