import { useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { Link, useParams } from "react-router";
import { api, unwrap } from "../api/client.js";
import { LineageList } from "../components/lineage.js";
import { Refusal } from "../components/refusal.js";
import { ItemButtons, useReviewActions } from "../components/review-dialogs.js";
import {
  ItemStateBadge,
  LastUse,
  peersText,
  REVIEW_KEY,
  Recommendation,
  type ReviewItem,
  RiskBadge,
  sourceText,
} from "../components/review-parts.js";
import { ErrorMessage, Loading, PageTitle, TableRegion, Time } from "../components/states.js";
import { useSession } from "../session.js";

/**
 * One review item with all its evidence: why the person has the access (lineage), every risk reason with
 * its weight, last use, peers, the last review, the separation-of-duties rules it is part of; the decision;
 * and for a revocation, the loop closing: removal pending, applied, confirmed in the target (when), or
 * failed (why). Certify / Revoke / Delegate while it is undecided.
 */
export default function ReviewItemPage() {
  const { id = "" } = useParams();
  const { can } = useSession();
  const [done, setDone] = useState<string | null>(null);
  const actions = useReviewActions(setDone);
  const query = useQuery({
    queryKey: [REVIEW_KEY, "item", id],
    queryFn: () => unwrap(api.GET("/api/reviews/items/{id}", { params: { path: { id } } })),
  });
  if (query.isPending) return <Loading what="the review item" />;
  if (query.isError) return <ErrorMessage error={query.error} what={`review item ${id}`} />;
  const i = query.data;
  const decidable = can("review:decide") && i.state === "pending" && i.campaign.status === "open";
  const reasons = [...i.risk.reasons].sort((a, b) => b.weight - a.weight);
  const sum = reasons.reduce((s, r) => s + r.weight, 0);

  return (
    <>
      <p>
        <Link to="/reviews">← Reviews</Link>
      </p>
      <PageTitle>
        {i.label}: {i.holder.name}
      </PageTitle>
      <p>
        <ItemStateBadge state={i.state} testId="item-state" /> <RiskBadge risk={i.risk} />
        {i.privileged && <span className="badge req-denied">privileged</span>} · recommended:{" "}
        <Recommendation risk={i.risk} /> · <span className="muted">id {i.id}</span>
      </p>
      <div role="status" aria-live="polite" data-testid="review-outcome">
        {done !== null && <p className="outcome good">{done}</p>}
      </div>
      {actions.refusal !== null && <Refusal error={actions.refusal} />}
      {decidable && <ItemButtons item={i} actions={actions} />}
      {actions.dialog}

      <section aria-labelledby="review-title">
        <h2 id="review-title">The review</h2>
        <dl className="attributes">
          <div>
            <dt>Holder</dt>
            <dd>
              {i.holder.name}
              {i.holder.employeeId !== null && <span className="muted"> ({i.holder.employeeId})</span>}
            </dd>
          </div>
          <div>
            <dt>Access</dt>
            <dd>{i.label}</dd>
          </div>
          <div>
            <dt>Campaign</dt>
            <dd>
              <Link to={`/reviews/${encodeURIComponent(i.campaign.id)}`}>{i.campaign.definition}</Link> (
              {i.campaign.status}, due <Time iso={i.campaign.deadline} />)
            </dd>
          </div>
          <div>
            <dt>Reviewer</dt>
            <dd>
              {i.reviewer?.name ?? "nobody"}
              {i.stage > 0 && ` (stage ${i.stage + 1})`}
              {i.rerouteReason !== null && (
                <span className="muted">
                  {" "}
                  — {rerouteText(i.rerouteReason)}
                  {i.ruleReviewer !== null && ` (first ${i.ruleReviewer.name})`}
                </span>
              )}
            </dd>
          </div>
        </dl>
      </section>

      <section aria-labelledby="risk-title">
        <h2 id="risk-title">Risk</h2>
        {reasons.length === 0 ? (
          <p className="muted">Nothing stands out: score {i.risk.score}.</p>
        ) : (
          <TableRegion label="Risk reasons, heaviest first">
            <table>
              <thead>
                <tr>
                  <th scope="col">Reason</th>
                  <th scope="col">Weight</th>
                </tr>
              </thead>
              <tbody>
                {reasons.map((r) => (
                  <tr key={`${r.code}:${r.detail}`}>
                    <td className="details">
                      {r.detail} <span className="muted">({r.code})</span>
                    </td>
                    <td>{r.weight}</td>
                  </tr>
                ))}
              </tbody>
              <tfoot>
                <tr>
                  <th scope="row">Score (the sum, at most 100)</th>
                  <td>
                    {i.risk.score}
                    {sum > 100 && <span className="muted"> of {sum}</span>}
                  </td>
                </tr>
              </tfoot>
            </table>
          </TableRegion>
        )}
      </section>

      <section aria-labelledby="evidence-title">
        <h2 id="evidence-title">Evidence</h2>
        <dl className="attributes" data-testid="evidence">
          <div>
            <dt>Why they have it</dt>
            <dd>
              <LineageList
                lineage={i.evidence.lineage}
                fallback={
                  i.source === "found" ? "nothing in Tenure grants it: found in the system" : undefined
                }
              />
            </dd>
          </div>
          <div>
            <dt>Source</dt>
            <dd>{sourceText(i.source, true)}</dd>
          </div>
          <div>
            <dt>Last use</dt>
            <dd>
              <LastUse item={i} />
            </dd>
          </div>
          <div>
            <dt>Peers</dt>
            <dd>
              {peersText(i.evidence.peers)}
              <span className="muted"> (same department and title, the holder not counted)</span>
            </dd>
          </div>
          <div>
            <dt>Last review</dt>
            <dd>
              {i.evidence.lastReview === null ? (
                "never reviewed before"
              ) : (
                <>
                  {i.evidence.lastReview.decision === "certify" ? "certified" : "revoked"}{" "}
                  <Time iso={i.evidence.lastReview.at} /> in{" "}
                  <Link to={`/reviews/${encodeURIComponent(i.evidence.lastReview.campaignId)}`}>
                    an earlier campaign
                  </Link>
                </>
              )}
            </dd>
          </div>
          <div>
            <dt>Separation of duties</dt>
            <dd>
              {i.evidence.sodRules.length === 0
                ? "part of no open violation"
                : i.evidence.sodRules.map((rule, n) => (
                    <span key={rule}>
                      {n > 0 && ", "}
                      {can("sod:read") ? (
                        <Link to={`/sod?rule=${encodeURIComponent(rule)}`}>{rule}</Link>
                      ) : (
                        rule
                      )}
                    </span>
                  ))}
            </dd>
          </div>
        </dl>
      </section>

      <section aria-labelledby="decision-title">
        <h2 id="decision-title">Decision</h2>
        {i.state === "pending" ? <p className="muted">Not decided yet.</p> : <Decision item={i} />}
      </section>
    </>
  );
}

function rerouteText(reason: NonNullable<ReviewItem["rerouteReason"]>): string {
  switch (reason) {
    case "self-review":
      return "rerouted: the first reviewer holds this access";
    case "no-reviewer":
      return "rerouted: the rule found no reviewer";
    case "delegated":
      return "delegated";
    case "escalated":
      return "escalated after the deadline";
  }
}

/** Who decided what and why, and for a revocation where its removal stands. */
function Decision({ item: i }: { item: ReviewItem }) {
  const revoked = i.state === "revoked" || i.state === "revoked-no-response";
  return (
    <dl className="attributes" data-testid="decision">
      <div>
        <dt>Decision</dt>
        <dd>
          {i.state}
          {i.bulk && <span className="muted"> (in bulk)</span>}
        </dd>
      </div>
      <div>
        <dt>By</dt>
        <dd>
          {i.decidedBy?.name ?? (i.state.endsWith("no-response") ? "nobody: the deadline passed" : "—")}
        </dd>
      </div>
      <div>
        <dt>When</dt>
        <dd>
          <Time iso={i.decidedAt} />
        </dd>
      </div>
      <div>
        <dt>{revoked ? "Reason" : "Comment"}</dt>
        <dd>{i.comment ?? <span className="muted">none</span>}</dd>
      </div>
      {revoked && (
        <div>
          <dt>Removal</dt>
          <dd data-testid="removal">
            <Removal item={i} />
          </dd>
        </div>
      )}
    </dl>
  );
}

/** The closed loop of a revocation: decided → removed at the source → confirmed gone in the target. */
function Removal({ item: i }: { item: ReviewItem }) {
  switch (i.removalState) {
    case null:
    case "pending":
      return <span className="bad-text">pending: not removed yet (the next removal pass takes it)</span>;
    case "applied":
      return <span>applied: removed at its source; the system cannot be read back to confirm it</span>;
    case "confirmed":
      return (
        <span className="ok">
          confirmed gone in the target <Time iso={i.confirmedAt} />
        </span>
      );
    case "failed":
      return <span className="bad-text">failed, retried: {i.removalDetail ?? "no detail recorded"}</span>;
    case "not-needed":
      return <span>not needed: {i.removalDetail ?? "the access was already gone"}</span>;
  }
}
