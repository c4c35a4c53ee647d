import { keepPreviousData, useMutation, useQuery } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import { Link } from "react-router";
import { api, unwrap } from "../api/client.js";
import { Pager } from "../components/pager.js";
import { QueryView } from "../components/query-view.js";
import { useRefetch } from "../components/refetch.js";
import { Refusal } from "../components/refusal.js";
import {
  duration,
  itemLabel,
  itemsLabel,
  provisioningText,
  REQUEST_STATES,
  type RequestOutcome,
  RequestStateBadge,
  standing,
} from "../components/request-parts.js";
import {
  ActsForNobody,
  type Requestable,
  RequestablePolicy,
  useRequestable,
} from "../components/requestable.js";
import { PageTitle, TableRegion, Time } from "../components/states.js";
import { useUrlParams } from "../components/url-params.js";
import { useSession } from "../session.js";

type State = (typeof REQUEST_STATES)[number];
/** Roles the server shows every request to (view=all); everyone else sees their own. */
const SEES_ALL = new Set(["admin", "auditor"]);

/** Requests: asking for access, and the requests asked by or for the signed-in person, by state. */
export default function Requests() {
  const { session, can } = useSession();
  const { value, cursor, filter, page } = useUrlParams();
  const state = value("state");
  const seesAll = SEES_ALL.has(session.role);
  // Someone who is nobody (an admin token) has no requests of their own: they look at all of them.
  const view = seesAll && (value("view") === "all" || session.identity === null) ? "all" : "mine";

  const list = useQuery({
    queryKey: ["requests", view, state, cursor],
    queryFn: () =>
      unwrap(
        api.GET("/api/requests", {
          params: {
            query: {
              view,
              limit: 50,
              ...(REQUEST_STATES.includes(state as State) ? { state: state as State } : {}),
              ...(cursor !== undefined ? { cursor } : {}),
            },
          },
        }),
      ),
    placeholderData: keepPreviousData,
  });

  return (
    <>
      <PageTitle>Requests</PageTitle>
      {can("requests:create") && (session.identity === null ? <ActsForNobody /> : <NewRequest />)}
      <section aria-labelledby="list-title">
        <h2 id="list-title">{view === "all" ? "Every request" : "My requests"}</h2>
        <form className="filters" onSubmit={(e) => e.preventDefault()} aria-label="Request filters">
          {seesAll && session.identity !== null && (
            <div>
              <label htmlFor="req-view">Whose</label>
              <select id="req-view" value={view} onChange={(e) => filter({ view: e.target.value })}>
                <option value="mine">mine</option>
                <option value="all">everyone's</option>
              </select>
            </div>
          )}
          <div>
            <label htmlFor="req-state">State</label>
            <select id="req-state" value={state} onChange={(e) => filter({ state: e.target.value })}>
              <option value="">any</option>
              {REQUEST_STATES.map((s) => (
                <option key={s} value={s}>
                  {s}
                </option>
              ))}
            </select>
          </div>
        </form>
        <QueryView
          query={list}
          what="requests"
          isEmpty={(d) => d.items.length === 0}
          empty={`No request${state !== "" ? ` is ${state}` : ""}.`}
        >
          {(d) => (
            <>
              <TableRegion label="Requests">
                <table aria-busy={list.isFetching}>
                  <thead>
                    <tr>
                      <th scope="col">What</th>
                      <th scope="col">Kind</th>
                      {view === "all" && <th scope="col">Who asks</th>}
                      <th scope="col">For whom</th>
                      <th scope="col">Duration</th>
                      <th scope="col">State</th>
                      <th scope="col">Where it stands</th>
                      <th scope="col">Asked</th>
                    </tr>
                  </thead>
                  <tbody>
                    {d.items.map((r) => (
                      <tr key={r.id}>
                        <td>
                          <Link to={`/requests/${encodeURIComponent(r.id)}`}>{itemsLabel(r.items)}</Link>
                        </td>
                        <td>{r.kind}</td>
                        {view === "all" && <td>{r.requester.name}</td>}
                        <td>{r.beneficiary.name}</td>
                        <td>{duration(r.durationMs)}</td>
                        <td>
                          <RequestStateBadge state={r.state} />
                        </td>
                        <td className="details">{standing(r)}</td>
                        <td>
                          <Time iso={r.submittedAt} />
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </TableRegion>
              <Pager label="Requests" cursor={cursor} nextCursor={d.nextCursor} onPage={page} />
            </>
          )}
        </QueryView>
      </section>
    </>
  );
}

const EMPTY = { beneficiary: "", duration: "", justification: "", ticket: "" };

/**
 * Asking for requestable access (not elevation: that is the Elevate page). The policy of the chosen
 * item is shown beside the form; whatever the server refuses is said in its words, nothing is checked
 * here first.
 */
function NewRequest() {
  const refetch = useRefetch();
  const requestable = useRequestable();
  const [chosen, setChosen] = useState("");
  const [draft, setDraft] = useState(EMPTY);
  const [asked, setAsked] = useState<RequestOutcome | null>(null);
  const items = (requestable.data?.items ?? []).filter((i) => !i.elevation);
  const item: Requestable | undefined = items.find((i) => itemLabel(i.item) === chosen) ?? items[0];

  const submit = useMutation({
    mutationFn: (what: Requestable) =>
      unwrap(
        api.POST("/api/requests", {
          body: {
            items: [what.item],
            justification: draft.justification,
            ...(draft.ticket.trim() !== "" ? { ticket: draft.ticket.trim() } : {}),
            ...(draft.duration.trim() !== "" ? { duration: draft.duration.trim() } : {}),
            ...(draft.beneficiary.trim() !== "" ? { beneficiary: draft.beneficiary.trim() } : {}),
          },
        }),
      ),
    onSuccess: async (outcome) => {
      await refetch(["requests"]);
      setAsked(outcome);
      setDraft(EMPTY);
    },
  });

  function send(event: FormEvent) {
    event.preventDefault();
    setAsked(null);
    if (item !== undefined) submit.mutate(item);
  }

  return (
    <section aria-labelledby="new-title">
      <h2 id="new-title">New request</h2>
      <QueryView
        query={requestable}
        what="what you may ask for"
        isEmpty={() => items.length === 0}
        empty="Nothing is requestable: the configuration marks no role or entitlement requestable."
      >
        {() => (
          <form className="ask" onSubmit={send} aria-labelledby="new-title">
            <div>
              <label htmlFor="new-item">Access</label>
              <select
                id="new-item"
                value={item === undefined ? "" : itemLabel(item.item)}
                onChange={(e) => setChosen(e.target.value)}
                aria-describedby="new-policy"
              >
                {items.map((i) => (
                  <option key={itemLabel(i.item)} value={itemLabel(i.item)}>
                    {i.label}
                    {i.eligible === false ? " (not eligible)" : ""}
                  </option>
                ))}
              </select>
            </div>
            {item !== undefined && <RequestablePolicy item={item} id="new-policy" />}
            <div>
              <label htmlFor="new-beneficiary">For (optional)</label>
              <input
                id="new-beneficiary"
                value={draft.beneficiary}
                onChange={(e) => setDraft({ ...draft, beneficiary: e.target.value })}
                aria-describedby="new-beneficiary-hint"
              />
              <p id="new-beneficiary-hint" className="hint">
                Empty: yourself. Or one of your direct reports, by HR key or email.
              </p>
            </div>
            <div>
              <label htmlFor="new-duration">Duration</label>
              <input
                id="new-duration"
                value={draft.duration}
                placeholder={item !== undefined ? duration(item.defaultDurationMs) : ""}
                onChange={(e) => setDraft({ ...draft, duration: e.target.value })}
                aria-describedby="new-duration-hint"
              />
              <p id="new-duration-hint" className="hint">
                From the grant: 30m, 8h, 7d, 2w.
                {item !== undefined &&
                  ` Empty: ${duration(item.defaultDurationMs)}; at most ${duration(item.maxDurationMs)}.`}
              </p>
            </div>
            <div>
              <label htmlFor="new-justification">Justification (required)</label>
              <textarea
                id="new-justification"
                rows={3}
                aria-required="true"
                value={draft.justification}
                onChange={(e) => setDraft({ ...draft, justification: e.target.value })}
                aria-describedby="new-justification-hint"
              />
              <p id="new-justification-hint" className="hint">
                Why you need it: your approvers read this.
              </p>
            </div>
            <div>
              <label htmlFor="new-ticket">Ticket (optional)</label>
              <input
                id="new-ticket"
                value={draft.ticket}
                onChange={(e) => setDraft({ ...draft, ticket: e.target.value })}
              />
            </div>
            {submit.isError && <Refusal error={submit.error} />}
            <div>
              <button type="submit" className="primary" disabled={submit.isPending}>
                Submit request
              </button>
            </div>
          </form>
        )}
      </QueryView>
      <div role="status" aria-live="polite" data-testid="request-outcome">
        {asked !== null && <Asked outcome={asked} />}
      </div>
    </section>
  );
}

/** What became of a request just submitted: waiting for someone, or granted at once. */
function Asked({ outcome }: { outcome: RequestOutcome }) {
  const r = outcome.request;
  const link = <Link to={`/requests/${encodeURIComponent(r.id)}`}>request {r.id}</Link>;
  if (r.state === "approved") {
    return (
      <p className="outcome good">
        Granted at once: {link} for {itemsLabel(r.items)} is approved.{" "}
        {provisioningText(outcome.provisioning)}
      </p>
    );
  }
  return (
    <p className="outcome">
      Submitted: {link} for {itemsLabel(r.items)} is {r.state}, waiting for {standing(r)}.
    </p>
  );
}
