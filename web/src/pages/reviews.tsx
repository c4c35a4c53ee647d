import { useQuery } from "@tanstack/react-query";
import { Link } from "react-router";
import { api, unwrap } from "../api/client.js";
import { ActsForNobody } from "../components/requestable.js";
import { ReviewInbox } from "../components/review-inbox.js";
import { ITEM_STATES, REVIEW_KEY, ReviewViews, SEES_ALL } from "../components/review-parts.js";
import { PageTitle, Time } from "../components/states.js";
import { useUrlParams } from "../components/url-params.js";
import { useSession } from "../session.js";

/**
 * The review inbox: the signed-in person's undecided items across open campaigns (and those of whoever
 * delegated to them), riskiest first, each with its evidence and Certify / Revoke / Delegate; bulk for the
 * low-risk, non-privileged ones. Filters (campaign, state, and for admin and auditor whose) live in the URL.
 */
export default function Reviews() {
  const { session } = useSession();
  const { value, cursor, filter, page } = useUrlParams();
  const seesAll = SEES_ALL.has(session.role);
  // Someone who is nobody (an admin token) has no items of their own: they look at all of them.
  const view = seesAll && (value("view") === "all" || session.identity === null) ? "all" : "mine";
  // Undecided by default; `any` shows every state.
  const state = value("state") === "" ? "pending" : value("state") === "any" ? "" : value("state");
  const campaign = value("campaign");
  const campaigns = useQuery({
    queryKey: [REVIEW_KEY, "campaigns", "open"],
    queryFn: () => unwrap(api.GET("/api/reviews/campaigns", { params: { query: { status: "open" } } })),
  });
  const open = campaigns.data?.campaigns ?? [];
  const waiting = open.filter((c) => (c.mine?.pending ?? 0) > 0);
  const names = open.map((c) => ({ id: c.id, label: `${c.definition} (due ${c.deadline.slice(0, 10)})` }));
  if (campaign !== "" && !names.some((n) => n.id === campaign)) names.push({ id: campaign, label: campaign });

  return (
    <>
      <PageTitle>Reviews</PageTitle>
      <p>
        Access to confirm or remove, riskiest first. Each item says why the person has it, how it is used and
        how their peers compare: revoke what nobody can explain.
      </p>
      <ReviewViews current="/reviews" />
      {view === "mine" && waiting.length > 0 && (
        <ul aria-label="Open campaigns waiting for you" data-testid="waiting-campaigns">
          {waiting.map((c) => (
            <li key={c.id}>
              <Link to={`/reviews/${encodeURIComponent(c.id)}`}>{c.definition}</Link>:{" "}
              <strong>{c.mine?.pending}</strong> undecided for you, due <Time iso={c.deadline} />
            </li>
          ))}
        </ul>
      )}
      <form className="filters" onSubmit={(e) => e.preventDefault()} aria-label="Review filters">
        {seesAll && session.identity !== null && (
          <div>
            <label htmlFor="rev-view">Whose</label>
            <select id="rev-view" value={view} onChange={(e) => filter({ view: e.target.value })}>
              <option value="mine">mine</option>
              <option value="all">everyone's</option>
            </select>
          </div>
        )}
        <div>
          <label htmlFor="rev-campaign">Campaign</label>
          <select id="rev-campaign" value={campaign} onChange={(e) => filter({ campaign: e.target.value })}>
            <option value="">every campaign</option>
            {names.map((n) => (
              <option key={n.id} value={n.id}>
                {n.label}
              </option>
            ))}
          </select>
        </div>
        <div>
          <label htmlFor="rev-state">State</label>
          <select
            id="rev-state"
            value={state === "" ? "any" : state}
            onChange={(e) => filter({ state: e.target.value === "pending" ? "" : e.target.value })}
          >
            {ITEM_STATES.map((s) => (
              <option key={s} value={s}>
                {s === "pending" ? "undecided" : s}
              </option>
            ))}
            <option value="any">any</option>
          </select>
        </div>
      </form>
      {view === "mine" && session.identity === null ? (
        <ActsForNobody />
      ) : (
        <ReviewInbox
          view={view}
          state={state}
          {...(campaign !== "" ? { campaign } : {})}
          cursor={cursor}
          onPage={page}
          label={view === "mine" ? "Your review items, riskiest first" : "Every review item, riskiest first"}
          empty={
            state === "pending"
              ? view === "mine"
                ? "Nothing waits for your review."
                : "No item is undecided."
              : "No item matches these filters."
          }
        />
      )}
    </>
  );
}
