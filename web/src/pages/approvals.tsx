import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { Link } from "react-router";
import { api, unwrap } from "../api/client.js";
import { DecisionDialog, type Verdict } from "../components/decision-dialog.js";
import { Pager } from "../components/pager.js";
import { QueryView } from "../components/query-view.js";
import { type AccessRequest, duration, itemsLabel, standing } from "../components/request-parts.js";
import { ActsForNobody } from "../components/requestable.js";
import { PageTitle, TableRegion, Time } from "../components/states.js";
import { useUrlParams } from "../components/url-params.js";
import { useSession } from "../session.js";

/**
 * The approver's inbox: every request waiting for the signed-in person's decision (their own step, a
 * step delegated to them, or one escalated to them). Approve or deny after seeing the request; the
 * inbox is read again after each decision.
 */
export default function Approvals() {
  const { session } = useSession();
  const { cursor, page } = useUrlParams();
  const [deciding, setDeciding] = useState<{ request: AccessRequest; verdict: Verdict } | null>(null);
  const [done, setDone] = useState<string | null>(null);

  const inbox = useQuery({
    queryKey: ["requests", "waiting", cursor],
    queryFn: () =>
      unwrap(
        api.GET("/api/requests", {
          params: { query: { view: "waiting", limit: 50, ...(cursor !== undefined ? { cursor } : {}) } },
        }),
      ),
    placeholderData: keepPreviousData,
    enabled: session.identity !== null,
  });

  function start(request: AccessRequest, verdict: Verdict) {
    setDone(null);
    setDeciding({ request, verdict });
  }

  return (
    <>
      <PageTitle>Approvals</PageTitle>
      <p>Requests waiting for your decision. Each is granted once its last step is approved.</p>
      <div role="status" aria-live="polite" data-testid="decision-outcome">
        {done}
      </div>
      {session.identity === null ? (
        <ActsForNobody />
      ) : (
        <QueryView
          query={inbox}
          what="the requests waiting for you"
          isEmpty={(d) => d.items.length === 0}
          empty="Nothing is waiting for your decision."
        >
          {(d) => (
            <>
              <TableRegion label="Waiting for your decision">
                <table aria-busy={inbox.isFetching}>
                  <thead>
                    <tr>
                      <th scope="col">Who asks</th>
                      <th scope="col">For whom</th>
                      <th scope="col">What</th>
                      <th scope="col">Why</th>
                      <th scope="col">Duration</th>
                      <th scope="col">Step</th>
                      <th scope="col">Asked</th>
                      <th scope="col">Decision</th>
                    </tr>
                  </thead>
                  <tbody>
                    {d.items.map((r) => (
                      <tr key={r.id}>
                        <td>{r.requester.name}</td>
                        <td>{r.beneficiary.name}</td>
                        <td>
                          <Link to={`/requests/${encodeURIComponent(r.id)}`}>{itemsLabel(r.items)}</Link>
                          {r.kind !== "request" && <span className="muted"> ({r.kind})</span>}
                        </td>
                        <td className="details">
                          {r.justification}
                          {r.ticket !== null && <span className="muted"> · ticket {r.ticket}</span>}
                        </td>
                        <td>{duration(r.durationMs)}</td>
                        <td className="details">{standing(r)}</td>
                        <td>
                          <Time iso={r.submittedAt} />
                        </td>
                        <td>
                          <div className="row-actions">
                            <button type="button" className="primary" onClick={() => start(r, "approve")}>
                              Approve
                            </button>
                            <button type="button" onClick={() => start(r, "deny")}>
                              Deny
                            </button>
                          </div>
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </TableRegion>
              <Pager label="Approvals" cursor={cursor} nextCursor={d.nextCursor} onPage={page} />
            </>
          )}
        </QueryView>
      )}
      {deciding !== null && (
        <DecisionDialog
          request={deciding.request}
          verdict={deciding.verdict}
          onClose={() => setDeciding(null)}
          onDecided={(message) => {
            setDeciding(null);
            setDone(message);
          }}
        />
      )}
    </>
  );
}
