import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { Link } from "react-router";
import { api, unwrap } from "../api/client.js";
import { useSession } from "../session.js";
import { Pager } from "./pager.js";
import { QueryView } from "./query-view.js";
import { Refusal } from "./refusal.js";
import { BulkDialog, ItemButtons, useReviewActions } from "./review-dialogs.js";
import {
  ITEM_STATES,
  type ItemState,
  ItemStateBadge,
  LastUse,
  notBulkReason,
  peersText,
  REVIEW_KEY,
  Recommendation,
  type ReviewItem,
  RiskBadge,
  sourceText,
} from "./review-parts.js";
import { TableRegion } from "./states.js";

/** Reasons shown in a row; the item's page has them all, with their weights. */
const TOP_REASONS = 2;

/**
 * Review items riskiest first, a page at a time, each with the evidence a reviewer decides on: holder,
 * access, risk and its main reasons, the recommendation, last use, peers and where the access comes from.
 * In `mine` view of undecided items: Certify / Revoke / Delegate on each row, and bulk decisions on the
 * low-risk, non-privileged rows (the others' boxes are disabled, saying why). A decided item leaves the
 * list; what happened, or the server's refusal, is said above it.
 */
export function ReviewInbox({
  view,
  state,
  campaign,
  cursor,
  onPage,
  label,
  empty,
}: {
  view: "mine" | "all";
  /** An item state, or "" for every state. */
  state: string;
  campaign?: string;
  cursor: string | undefined;
  onPage: (cursor: string | undefined) => void;
  /** The table's name, for screen readers and tests. */
  label: string;
  empty: string;
}) {
  const { can } = useSession();
  const [done, setDone] = useState<string | null>(null);
  const [selected, setSelected] = useState<ReadonlySet<string>>(new Set());
  const [bulk, setBulk] = useState<"certify" | "revoke" | null>(null);
  const actions = useReviewActions((message) => setDone(message));
  const validState = ITEM_STATES.includes(state as ItemState) ? (state as ItemState) : undefined;
  const list = useQuery({
    queryKey: [REVIEW_KEY, "items", view, validState, campaign, cursor],
    queryFn: () =>
      unwrap(
        api.GET("/api/reviews/items", {
          params: {
            query: {
              view,
              limit: 50,
              ...(validState !== undefined ? { state: validState } : {}),
              ...(campaign !== undefined ? { campaign } : {}),
              ...(cursor !== undefined ? { cursor } : {}),
            },
          },
        }),
      ),
    placeholderData: keepPreviousData,
  });
  const deciding = view === "mine" && can("review:decide");
  const items = list.data?.items ?? [];
  const chosen = items.filter((i) => selected.has(i.id) && notBulkReason(i) === null);
  const eligible = items.filter((i) => notBulkReason(i) === null);
  const bulkShown = deciding && validState === "pending";

  const toggle = (id: string, on: boolean) => {
    const next = new Set(selected);
    if (on) next.add(id);
    else next.delete(id);
    setSelected(next);
  };

  return (
    <>
      <div role="status" aria-live="polite" data-testid="review-outcome">
        {done !== null && <p className="outcome good">{done}</p>}
      </div>
      {actions.refusal !== null && <Refusal error={actions.refusal} />}
      <QueryView query={list} what="review items" isEmpty={(d) => d.items.length === 0} empty={empty}>
        {(d) => (
          <>
            {bulkShown && (
              <div className="page-actions" data-testid="bulk-bar">
                <span>
                  {chosen.length} selected
                  <span className="muted">
                    {" "}
                    · bulk decisions cover non-privileged items up to each campaign's risk limit
                  </span>
                </span>
                <button
                  type="button"
                  disabled={chosen.length === 0}
                  onClick={() => {
                    setDone(null);
                    setBulk("certify");
                  }}
                >
                  Certify selected
                </button>
                <button
                  type="button"
                  disabled={chosen.length === 0}
                  onClick={() => {
                    setDone(null);
                    setBulk("revoke");
                  }}
                >
                  Revoke selected
                </button>
              </div>
            )}
            <TableRegion label={label}>
              <table aria-busy={list.isFetching}>
                <thead>
                  <tr>
                    {bulkShown && (
                      <th scope="col">
                        <input
                          type="checkbox"
                          aria-label="Select every low-risk, non-privileged item on this page"
                          title="Select every low-risk, non-privileged item on this page"
                          disabled={eligible.length === 0}
                          checked={eligible.length > 0 && chosen.length === eligible.length}
                          onChange={(e) =>
                            setSelected(new Set(e.target.checked ? eligible.map((i) => i.id) : []))
                          }
                        />
                      </th>
                    )}
                    <th scope="col">Holder</th>
                    <th scope="col">Access</th>
                    <th scope="col">Risk</th>
                    <th scope="col">Why</th>
                    <th scope="col">Recommended</th>
                    <th scope="col">Last use</th>
                    <th scope="col">Peers holding it</th>
                    <th scope="col">Source</th>
                    {view === "all" && <th scope="col">Reviewer</th>}
                    <th scope="col">{deciding ? "Decision" : "State"}</th>
                  </tr>
                </thead>
                <tbody>
                  {d.items.map((i) => (
                    <tr key={i.id} data-testid="review-row">
                      {bulkShown && (
                        <td>
                          <BulkBox
                            item={i}
                            checked={selected.has(i.id)}
                            onChange={(on) => toggle(i.id, on)}
                          />
                        </td>
                      )}
                      <td>
                        {i.holder.name}
                        {i.holder.employeeId !== null && (
                          <span className="muted"> ({i.holder.employeeId})</span>
                        )}
                      </td>
                      <td>
                        <Link to={`/reviews/items/${encodeURIComponent(i.id)}`}>{i.label}</Link>
                        {i.privileged && (
                          <>
                            {" "}
                            <span className="badge req-denied">privileged</span>
                          </>
                        )}
                        <br />
                        <span className="muted">
                          {i.campaign.definition}, due{" "}
                          <time dateTime={i.campaign.deadline} title={i.campaign.deadline}>
                            {new Date(i.campaign.deadline).toLocaleDateString()}
                          </time>
                        </span>
                      </td>
                      <td>
                        <RiskBadge risk={i.risk} />
                      </td>
                      <td className="details">
                        <Reasons item={i} />
                      </td>
                      <td>
                        <Recommendation risk={i.risk} />
                      </td>
                      <td>
                        <LastUse item={i} />
                      </td>
                      <td>{peersText(i.evidence.peers)}</td>
                      <td>{sourceText(i.source)}</td>
                      {view === "all" && <td>{i.reviewer?.name ?? <span className="muted">nobody</span>}</td>}
                      <td>
                        {deciding && i.state === "pending" && i.campaign.status === "open" ? (
                          <ItemButtons item={i} actions={actions} />
                        ) : (
                          <ItemStateBadge state={i.state} />
                        )}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </TableRegion>
            <Pager label={label} cursor={cursor} nextCursor={d.nextCursor} onPage={onPage} />
          </>
        )}
      </QueryView>
      {actions.dialog}
      {bulk !== null && (
        <BulkDialog
          items={chosen}
          decision={bulk}
          onClose={() => setBulk(null)}
          onDone={(message) => {
            setBulk(null);
            setSelected(new Set());
            setDone(message);
          }}
        />
      )}
    </>
  );
}

/** The heaviest reasons in words, and how many more the item's page has. */
function Reasons({ item }: { item: ReviewItem }) {
  const reasons = [...item.risk.reasons].sort((a, b) => b.weight - a.weight);
  if (reasons.length === 0) return <span className="muted">nothing stands out</span>;
  const more = reasons.length - TOP_REASONS;
  return (
    <>
      {reasons
        .slice(0, TOP_REASONS)
        .map((r) => r.detail)
        .join("; ")}
      {more > 0 && <span className="muted"> (+{more} more)</span>}
    </>
  );
}

/** A row's bulk box: disabled, with the reason on hover and for screen readers, unless bulk may cover it. */
function BulkBox({
  item,
  checked,
  onChange,
}: {
  item: ReviewItem;
  checked: boolean;
  onChange: (on: boolean) => void;
}) {
  const why = notBulkReason(item);
  const name = `Select ${item.label} of ${item.holder.name} for a bulk decision`;
  const tip = why === null ? name : `Not in bulk: ${why}`;
  return (
    // The title on the wrapper too: a disabled input shows no tooltip in some browsers.
    <span title={tip}>
      <input
        type="checkbox"
        aria-label={name}
        title={tip}
        disabled={why !== null}
        checked={why === null && checked}
        onChange={(e) => onChange(e.target.checked)}
      />
    </span>
  );
}
