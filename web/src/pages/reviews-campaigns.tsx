import { keepPreviousData, useMutation, useQuery } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import { Link } from "react-router";
import { api, unwrap } from "../api/client.js";
import { QueryView } from "../components/query-view.js";
import { useRefetch } from "../components/refetch.js";
import { Refusal } from "../components/refusal.js";
import {
  CampaignStatusBadge,
  completionText,
  Deadline,
  REVIEW_KEY,
  type ReviewCampaign,
  ReviewViews,
} from "../components/review-parts.js";
import { PageTitle, TableRegion, Time } from "../components/states.js";
import { useUrlParams } from "../components/url-params.js";
import { useSession } from "../session.js";

/**
 * Review campaigns, newest first: status, deadline (overdue said), completion and what is still undecided
 * (yours too); each links to its page with the report. Admins start a campaign of tenure.yaml here.
 */
export default function ReviewCampaigns() {
  const { can } = useSession();
  const { value, filter } = useUrlParams();
  const status = value("status");
  const list = useQuery({
    queryKey: [REVIEW_KEY, "campaigns", status],
    queryFn: () =>
      unwrap(
        api.GET("/api/reviews/campaigns", {
          params: { query: status === "open" || status === "closed" ? { status } : {} },
        }),
      ),
    placeholderData: keepPreviousData,
  });
  return (
    <>
      <PageTitle>Review campaigns</PageTitle>
      <p>Each campaign asks reviewers to confirm or remove access by a deadline; its page has the report.</p>
      <ReviewViews current="/reviews/campaigns" />
      {can("review:manage") && <StartCampaign campaigns={list.data?.campaigns ?? []} />}
      <section aria-labelledby="campaigns-title">
        <h2 id="campaigns-title">Campaigns</h2>
        <form className="filters" onSubmit={(e) => e.preventDefault()} aria-label="Campaign filters">
          <div>
            <label htmlFor="campaign-status">Status</label>
            <select id="campaign-status" value={status} onChange={(e) => filter({ status: e.target.value })}>
              <option value="">any</option>
              <option value="open">open</option>
              <option value="closed">closed</option>
            </select>
          </div>
        </form>
        <QueryView
          query={list}
          what="campaigns"
          isEmpty={(d) => d.campaigns.length === 0}
          empty={`No campaign${status !== "" ? ` is ${status}` : " yet"}.`}
        >
          {(d) => (
            <TableRegion label="Review campaigns, newest first">
              <table aria-busy={list.isFetching}>
                <thead>
                  <tr>
                    <th scope="col">Campaign</th>
                    <th scope="col">Kind</th>
                    <th scope="col">Status</th>
                    <th scope="col">Started</th>
                    <th scope="col">Deadline</th>
                    <th scope="col">Decided</th>
                    <th scope="col">Undecided</th>
                    <th scope="col">Yours</th>
                  </tr>
                </thead>
                <tbody>
                  {d.campaigns.map((c) => (
                    <tr key={c.id}>
                      <td className="details">
                        <Link to={`/reviews/${encodeURIComponent(c.id)}`}>{c.definition}</Link>
                        {c.description !== null && (
                          <>
                            <br />
                            <span className="muted">{c.description}</span>
                          </>
                        )}
                      </td>
                      <td>{c.kind}</td>
                      <td>
                        <CampaignStatusBadge status={c.status} />
                      </td>
                      <td>
                        <Time iso={c.startedAt} />
                      </td>
                      <td>
                        <Deadline campaign={c} />
                      </td>
                      <td>{completionText(c.decided, c.total)}</td>
                      <td>{c.pending}</td>
                      <td>{c.mine === null ? "—" : c.mine.pending}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </TableRegion>
          )}
        </QueryView>
      </section>
    </>
  );
}

/**
 * Starting a campaign of tenure.yaml `reviews.campaigns` now. The API lists no definitions: the names of
 * campaigns already run are offered, any other is typed; the server refuses a name it does not define.
 */
function StartCampaign({ campaigns }: { campaigns: readonly ReviewCampaign[] }) {
  const refetch = useRefetch();
  const [definition, setDefinition] = useState("");
  const known = [...new Set(campaigns.map((c) => c.definition))].sort();
  const start = useMutation({
    mutationFn: (name: string) => unwrap(api.POST("/api/reviews/campaigns", { body: { definition: name } })),
    onSuccess: async () => {
      await refetch([REVIEW_KEY]);
      setDefinition("");
    },
  });
  function submit(event: FormEvent) {
    event.preventDefault();
    start.mutate(definition.trim());
  }
  const started = start.data;
  return (
    <section aria-labelledby="start-title">
      <h2 id="start-title">Start a campaign</h2>
      <form className="ask" onSubmit={submit} aria-labelledby="start-title">
        <div>
          <label htmlFor="start-definition">Campaign</label>
          <input
            id="start-definition"
            list="start-definitions"
            value={definition}
            onChange={(e) => setDefinition(e.target.value)}
            aria-describedby="start-definition-hint"
          />
          <datalist id="start-definitions">
            {known.map((name) => (
              <option key={name} value={name} />
            ))}
          </datalist>
          <p id="start-definition-hint" className="hint">
            A name under <code>reviews.campaigns</code> in tenure.yaml
            {known.length > 0 ? ` (run before: ${known.join(", ")})` : ""}. It starts now, outside its
            schedule; its reviewers are told.
          </p>
        </div>
        {start.isError && <Refusal error={start.error} />}
        <div>
          <button type="submit" className="primary" disabled={start.isPending}>
            Start campaign
          </button>
        </div>
      </form>
      <div role="status" aria-live="polite" data-testid="start-outcome">
        {started !== undefined &&
          (started.campaign === null ? (
            <p className="outcome">Nothing is in scope of {start.variables}: no campaign was started.</p>
          ) : (
            <p className="outcome good">
              Started{" "}
              <Link to={`/reviews/${encodeURIComponent(started.campaign.id)}`}>
                {started.campaign.definition}
              </Link>{" "}
              with {started.items} item{started.items === 1 ? "" : "s"}, due{" "}
              <Time iso={started.campaign.deadline} />.
            </p>
          ))}
      </div>
    </section>
  );
}
