import type { AccessRequest, RequestItem, RequestKind, RequestState } from "../domain/request-types.js";
import { assignmentRepository } from "../store/assignment-repository.js";
import type { Store } from "../store/database.js";
import { identityRepository } from "../store/identity-repository.js";

/** A person as a request shows them: id and name. */
export interface PersonRef {
  id: string;
  name: string;
}

/** A request as the CLI and the API show it: people named, the steps with who decided. */
export interface RequestView {
  id: string;
  kind: RequestKind;
  state: RequestState;
  autoApproved: boolean;
  requester: PersonRef;
  beneficiary: PersonRef;
  items: RequestItem[];
  justification: string;
  ticket: string | null;
  durationMs: number;
  submittedAt: string;
  expiresAt: string;
  closedAt: string | null;
  currentStep: number;
  steps: Array<{ name: string; required: number; approvers: PersonRef[]; approvedBy: PersonRef[] }>;
  decisions: Array<{
    step: number;
    by: PersonRef;
    onBehalfOf: PersonRef | null;
    verdict: string;
    at: string;
    comment: string | null;
  }>;
  /** The access granted: each assignment's window, and when its end was confirmed. */
  grants: Array<{
    assignment: string;
    target: string;
    validFrom: string;
    validUntil: string | null;
    revokedAt: string | null;
    endedAt: string | null;
  }>;
}

/** The views of `requests`, reading each person's name once. `withGrants` adds their assignments. */
export async function viewRequests(
  store: Pick<Store, "db">,
  requests: readonly AccessRequest[],
  options: { withGrants?: boolean } = {},
): Promise<RequestView[]> {
  const ids = new Set<string>();
  for (const r of requests) {
    ids.add(r.requesterId);
    ids.add(r.beneficiaryId);
    for (const s of r.steps) for (const a of s.approvers) ids.add(a);
    for (const d of r.decisions) {
      ids.add(d.by);
      if (d.onBehalfOf) ids.add(d.onBehalfOf);
    }
  }
  const people = await identityRepository.findByIds(store.db, [...ids]);
  const ref = (id: string): PersonRef => ({ id, name: people.get(id)?.attributes.displayName ?? id });
  const views: RequestView[] = [];
  for (const r of requests) {
    const grants = options.withGrants ? await assignmentRepository.list(store.db, { requestId: r.id }) : [];
    views.push({
      id: r.id,
      kind: r.kind ?? "request",
      state: r.state,
      autoApproved: r.autoApproved ?? false,
      requester: ref(r.requesterId),
      beneficiary: ref(r.beneficiaryId),
      items: [...r.items],
      justification: r.justification,
      ticket: r.ticket,
      durationMs: r.durationMs,
      submittedAt: r.submittedAt,
      expiresAt: r.expiresAt,
      closedAt: r.closedAt,
      currentStep: r.currentStep,
      steps: r.steps.map((s, i) => ({
        name: s.name,
        required: s.required,
        approvers: s.approvers.map(ref),
        approvedBy: [
          ...new Set(
            r.decisions
              .filter((d) => d.step === i && d.verdict === "approve")
              .map((d) => d.onBehalfOf ?? d.by),
          ),
        ].map(ref),
      })),
      decisions: r.decisions.map((d) => ({
        step: d.step,
        by: ref(d.by),
        onBehalfOf: d.onBehalfOf === null ? null : ref(d.onBehalfOf),
        verdict: d.verdict,
        at: d.at,
        comment: d.comment,
      })),
      grants: grants.map((a) => ({
        assignment: a.id,
        target: "role" in a.target ? `role ${a.target.role}` : `${a.target.system}:${a.target.entitlement}`,
        validFrom: a.validFrom,
        validUntil: a.validUntil,
        revokedAt: a.revokedAt,
        endedAt: a.endedAt ?? null,
      })),
    });
  }
  return views;
}
