import { useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { Link, useParams } from "react-router";
import { api, unwrap } from "../api/client.js";
import { CloseCampaignDialog } from "../components/review-dialogs.js";
import { ReviewInbox } from "../components/review-inbox.js";
import {
  CampaignStatusBadge,
  completionText,
  Deadline,
  ITEM_STATES,
  REVIEW_KEY,
  type ReviewReport,
} from "../components/review-parts.js";
import { Empty, ErrorMessage, Loading, PageTitle, TableRegion, Time } from "../components/states.js";
import { useUrlParams } from "../components/url-params.js";
import { useSession } from "../session.js";

/**
 * One campaign (the page a reviewer's notification links to): its status, deadline and counts; the
 * signed-in reviewer's undecided items in it; for admin and auditor the report — completion, decisions,
 * revocations applied, confirmed and failed, overdue reviewers, time per item with the rubber-stamp flag —
 * and the item report as CSV or JSON. Admins close it early, after a confirmation.
 */
export default function ReviewCampaignPage() {
  const { campaignId = "" } = useParams();
  const { session, can } = useSession();
  const { cursor, page } = useUrlParams();
  const [closing, setClosing] = useState(false);
  const [done, setDone] = useState<string | null>(null);
  const query = useQuery({
    queryKey: [REVIEW_KEY, "campaign", campaignId],
    queryFn: () => unwrap(api.GET("/api/reviews/campaigns/{id}", { params: { path: { id: campaignId } } })),
  });
  if (query.isPending) return <Loading what="the campaign" />;
  if (query.isError) return <ErrorMessage error={query.error} what={`campaign ${campaignId}`} />;
  const { campaign: c, report } = query.data;
  const reportUrl = (format: string) =>
    `/api/reviews/campaigns/${encodeURIComponent(c.id)}/report?format=${format}`;

  return (
    <>
      <p>
        <Link to="/reviews/campaigns">← Review campaigns</Link>
      </p>
      <PageTitle>Campaign {c.definition}</PageTitle>
      <p>
        <CampaignStatusBadge status={c.status} /> {c.description ?? ""}{" "}
        <span className="muted">· id {c.id}</span>
      </p>
      <div role="status" aria-live="polite" data-testid="campaign-outcome">
        {done !== null && <p className="outcome">{done}</p>}
      </div>
      {can("review:manage") && c.status === "open" && (
        <div className="page-actions">
          <button
            type="button"
            onClick={() => {
              setDone(null);
              setClosing(true);
            }}
          >
            Close campaign
          </button>
        </div>
      )}
      <section aria-labelledby="campaign-title">
        <h2 id="campaign-title">The campaign</h2>
        <dl className="attributes" data-testid="campaign-summary">
          <div>
            <dt>Kind</dt>
            <dd>{c.kind}</dd>
          </div>
          <div>
            <dt>Started</dt>
            <dd>
              <Time iso={c.startedAt} /> <span className="muted">by {c.startedBy}</span>
            </dd>
          </div>
          <div>
            <dt>Deadline</dt>
            <dd>
              <Deadline campaign={c} />
            </dd>
          </div>
          {c.closedAt !== null && (
            <div>
              <dt>Closed</dt>
              <dd>
                <Time iso={c.closedAt} /> <span className="muted">by {c.closedBy}</span>
              </dd>
            </div>
          )}
          <div>
            <dt>Decided</dt>
            <dd>
              {completionText(c.decided, c.total)}, {c.pending} undecided
            </dd>
          </div>
          {c.mine !== null && (
            <div>
              <dt>Yours</dt>
              <dd>{c.mine.pending} undecided</dd>
            </div>
          )}
        </dl>
      </section>
      {session.identity !== null && can("review:decide") && (c.mine?.pending ?? 0) > 0 && (
        <section aria-labelledby="mine-title">
          <h2 id="mine-title">Your undecided items</h2>
          <ReviewInbox
            view="mine"
            state="pending"
            campaign={c.id}
            cursor={cursor}
            onPage={page}
            label="Your items in this campaign, riskiest first"
            empty="Nothing in this campaign waits for you."
          />
        </section>
      )}
      {report !== null && <Report report={report} />}
      <section aria-labelledby="downloads-title">
        <h2 id="downloads-title">Item report</h2>
        <p>
          Every item{report === null ? " you review" : ""} with its risk, decision, reviewer, comment and
          removal:{" "}
          <a href={reportUrl("csv")} download={`review-${c.id}.csv`}>
            CSV
          </a>{" "}
          ·{" "}
          <a href={reportUrl("json")} download={`review-${c.id}.json`}>
            JSON
          </a>
        </p>
      </section>
      {closing && (
        <CloseCampaignDialog
          campaign={c}
          onClose={() => setClosing(false)}
          onDone={(message) => {
            setClosing(false);
            setDone(message);
          }}
        />
      )}
    </>
  );
}

function seconds(s: number | null): string {
  if (s === null) return "—";
  return s < 90 ? `${s} s` : `${Math.round(s / 6) / 10} min`;
}

/** The auditors' report of a campaign. */
function Report({ report: r }: { report: ReviewReport }) {
  const states = ITEM_STATES.filter((s) => (r.byState[s] ?? 0) > 0);
  return (
    <section aria-labelledby="report-title" data-testid="campaign-report">
      <h2 id="report-title">Report</h2>
      <dl className="attributes">
        <div>
          <dt>Completion</dt>
          <dd data-testid="report-completion">
            {r.completion}% decided by a reviewer ({r.decided} of {r.total})
          </dd>
        </div>
        <div>
          <dt>Items by state</dt>
          <dd data-testid="report-states">
            {states.length === 0 ? "none" : states.map((s) => `${r.byState[s]} ${s}`).join(", ")}
          </dd>
        </div>
        <div>
          <dt>Revocations</dt>
          <dd data-testid="report-revocations">
            {r.revocations.pending} pending, {r.revocations.applied} applied, {r.revocations.confirmed}{" "}
            confirmed in the target,{" "}
            <span className={r.revocations.failed > 0 ? "bad-text" : undefined}>
              {r.revocations.failed} failed
            </span>
            , {r.revocations.notNeeded} not needed
          </dd>
        </div>
      </dl>
      <h3>Overdue reviewers</h3>
      {r.overdueReviewers.length === 0 ? (
        <Empty>
          {r.campaign.status === "open"
            ? "Nobody is overdue yet (reminders have not started)."
            : "Nobody left items unanswered."}
        </Empty>
      ) : (
        <TableRegion label="Overdue reviewers">
          <table>
            <thead>
              <tr>
                <th scope="col">Reviewer</th>
                <th scope="col">{r.campaign.status === "open" ? "Undecided" : "Unanswered"}</th>
              </tr>
            </thead>
            <tbody>
              {r.overdueReviewers.map((o) => (
                <tr key={o.reviewerId ?? "(nobody)"}>
                  <td>{o.reviewer}</td>
                  <td>{o.pending}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableRegion>
      )}
      <h3>Reviewers</h3>
      {r.reviewers.length === 0 ? (
        <Empty>Nobody has decided yet.</Empty>
      ) : (
        <TableRegion label="Decisions by reviewer">
          <table>
            <thead>
              <tr>
                <th scope="col">Reviewer</th>
                <th scope="col">Decided</th>
                <th scope="col">Certified</th>
                <th scope="col">Revoked</th>
                <th scope="col">In bulk</th>
                <th scope="col">Median time per item</th>
                <th scope="col">Rubber stamp?</th>
              </tr>
            </thead>
            <tbody>
              {r.reviewers.map((v) => (
                <tr key={v.reviewerId}>
                  <td>{v.reviewer}</td>
                  <td>{v.decided}</td>
                  <td>{v.certified}</td>
                  <td>{v.revoked}</td>
                  <td>{v.bulk}</td>
                  <td>{seconds(v.medianSecondsPerItem)}</td>
                  <td>
                    {v.rubberStamp ? (
                      <span
                        className="badge req-denied"
                        title="a few seconds per item over many one-by-one decisions"
                      >
                        likely
                      </span>
                    ) : (
                      "no"
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableRegion>
      )}
    </section>
  );
}
