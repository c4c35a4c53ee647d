import { useMutation } from "@tanstack/react-query";
import { useState } from "react";
import { api, unwrap } from "../api/client.js";
import { ConfirmDialog } from "./confirm-dialog.js";
import { useRefetch } from "./refetch.js";
import { refusalText } from "./refusal.js";
import {
  completionText,
  outcomeText,
  REVIEW_KEY,
  type ReviewCampaign,
  type ReviewItem,
  RiskBadge,
  removalPlan,
  sourceText,
} from "./review-parts.js";

type Action = "revoke" | "delegate";

/**
 * The decisions a reviewer takes on one item, wherever it is shown (the inbox row, the item page):
 * Certify at once, Revoke through a dialog asking the reason, Delegate through a dialog asking to whom.
 * The server decides who may and whether the item is still undecided; a refusal is handed to the page in
 * its words (`refusal`) or shown in the dialog. Every review query is read again after a change, so a
 * decided item leaves the inbox; `onDone` gets the sentence saying what happened.
 */
export function useReviewActions(onDone: (message: string) => void) {
  const refetch = useRefetch();
  const [acting, setActing] = useState<{ item: ReviewItem; action: Action } | null>(null);
  const certify = useMutation({
    mutationFn: (item: ReviewItem) =>
      unwrap(
        api.POST("/api/reviews/items/{id}/decision", {
          params: { path: { id: item.id } },
          body: { decision: "certify" },
        }),
      ),
    onSuccess: async (after, before) => {
      await refetch([REVIEW_KEY]);
      onDone(outcomeText(before, after));
    },
  });
  const finish = (message: string) => {
    setActing(null);
    onDone(message);
  };
  return {
    certify(item: ReviewItem) {
      certify.reset();
      certify.mutate(item);
    },
    start(item: ReviewItem, action: Action) {
      certify.reset();
      setActing({ item, action });
    },
    /** The item being certified now, to disable its buttons. */
    busyId: certify.isPending ? certify.variables.id : null,
    /** The server's refusal of the last Certify, or null. */
    refusal: certify.isError ? certify.error : null,
    dialog:
      acting === null ? null : acting.action === "revoke" ? (
        <RevokeDialog item={acting.item} onClose={() => setActing(null)} onDone={finish} />
      ) : (
        <DelegateDialog item={acting.item} onClose={() => setActing(null)} onDone={finish} />
      ),
  };
}

/** The row buttons of an undecided item: Certify, Revoke, Delegate. */
export function ItemButtons({
  item,
  actions,
}: {
  item: ReviewItem;
  actions: ReturnType<typeof useReviewActions>;
}) {
  const busy = actions.busyId === item.id;
  return (
    <div className="row-actions">
      <button type="button" disabled={busy} onClick={() => actions.certify(item)}>
        {busy ? "Certifying…" : "Certify"}
      </button>
      <button type="button" disabled={busy} onClick={() => actions.start(item, "revoke")}>
        Revoke
      </button>
      <button type="button" disabled={busy} onClick={() => actions.start(item, "delegate")}>
        Delegate
      </button>
    </div>
  );
}

/** The item a dialog is about, in one line: what, whose, how risky and where it comes from. */
function ItemLine({ item }: { item: ReviewItem }) {
  return (
    <p>
      <strong>{item.label}</strong> held by <strong>{item.holder.name}</strong> ({sourceText(item.source)}
      {item.privileged ? ", privileged" : ""}), risk <RiskBadge risk={item.risk} />
    </p>
  );
}

/** Revoking one item: the reason is required (the server says so if it is missing). */
export function RevokeDialog({
  item,
  onClose,
  onDone,
}: {
  item: ReviewItem;
  onClose: () => void;
  onDone: (message: string) => void;
}) {
  const refetch = useRefetch();
  const [reason, setReason] = useState("");
  const revoke = useMutation({
    mutationFn: () =>
      unwrap(
        api.POST("/api/reviews/items/{id}/decision", {
          params: { path: { id: item.id } },
          body: { decision: "revoke", comment: reason },
        }),
      ),
    onSuccess: async (after) => {
      await refetch([REVIEW_KEY]);
      onDone(outcomeText(item, after));
    },
  });
  return (
    <ConfirmDialog
      title="Revoke this access?"
      confirm="Revoke access"
      busy={revoke.isPending}
      error={revoke.isError ? refusalText(revoke.error) : null}
      onConfirm={() => revoke.mutate()}
      onClose={onClose}
    >
      <ItemLine item={item} />
      <p>
        {removalPlan(item.source)} Tenure then reads the system back to confirm it is gone; the item's page
        shows each step.
      </p>
      <label htmlFor="revoke-reason">Reason (required)</label>
      <textarea
        id="revoke-reason"
        rows={3}
        aria-required="true"
        aria-describedby="revoke-reason-hint"
        value={reason}
        onChange={(e) => setReason(e.target.value)}
      />
      <p id="revoke-reason-hint" className="hint">
        Why the access should go: the holder's manager and the auditors read this.
      </p>
    </ConfirmDialog>
  );
}

/** Handing one item to another reviewer (never its holder). */
export function DelegateDialog({
  item,
  onClose,
  onDone,
}: {
  item: ReviewItem;
  onClose: () => void;
  onDone: (message: string) => void;
}) {
  const refetch = useRefetch();
  const [to, setTo] = useState("");
  const [comment, setComment] = useState("");
  const delegate = useMutation({
    mutationFn: () =>
      unwrap(
        api.POST("/api/reviews/items/{id}/delegate", {
          params: { path: { id: item.id } },
          body: { to: to.trim(), ...(comment.trim() !== "" ? { comment: comment.trim() } : {}) },
        }),
      ),
    onSuccess: async (after) => {
      await refetch([REVIEW_KEY]);
      onDone(outcomeText(item, after, to.trim()));
    },
  });
  return (
    <ConfirmDialog
      title="Delegate this review?"
      confirm="Delegate review"
      busy={delegate.isPending}
      error={delegate.isError ? refusalText(delegate.error) : null}
      onConfirm={() => delegate.mutate()}
      onClose={onClose}
    >
      <ItemLine item={item} />
      <p>Someone who knows better decides it instead of you; it leaves your list.</p>
      <form className="ask" aria-label="Delegation" onSubmit={(e) => e.preventDefault()}>
        <div>
          <label htmlFor="delegate-to">Person</label>
          <input
            id="delegate-to"
            value={to}
            onChange={(e) => setTo(e.target.value)}
            aria-describedby="delegate-to-hint"
          />
          <p id="delegate-to-hint" className="hint">
            Their email, HR key or id. Never {item.holder.name}: nobody reviews their own access.
          </p>
        </div>
        <div>
          <label htmlFor="delegate-comment">Comment (optional)</label>
          <textarea
            id="delegate-comment"
            rows={2}
            value={comment}
            onChange={(e) => setComment(e.target.value)}
          />
        </div>
      </form>
    </ConfirmDialog>
  );
}

/** One decision on several low-risk, non-privileged items, with one comment saying what was checked. */
export function BulkDialog({
  items,
  decision,
  onClose,
  onDone,
}: {
  items: readonly ReviewItem[];
  decision: "certify" | "revoke";
  onClose: () => void;
  onDone: (message: string) => void;
}) {
  const refetch = useRefetch();
  const [comment, setComment] = useState("");
  const n = items.length;
  const count = `${n} item${n === 1 ? "" : "s"}`;
  const decide = useMutation({
    mutationFn: () =>
      unwrap(
        api.POST("/api/reviews/items/decisions", {
          body: { itemIds: items.map((i) => i.id), decision, comment },
        }),
      ),
    onSuccess: async (r) => {
      await refetch([REVIEW_KEY]);
      const m = r.decided.length;
      onDone(
        `You ${decision === "certify" ? "certified" : "revoked"} ${m} item${m === 1 ? "" : "s"} at once: they left your list.`,
      );
    },
  });
  const verb = decision === "certify" ? "Certify" : "Revoke";
  return (
    <ConfirmDialog
      title={`${verb} ${count} at once?`}
      confirm={`${verb} ${count}`}
      busy={decide.isPending}
      error={decide.isError ? refusalText(decide.error) : null}
      onConfirm={() => decide.mutate()}
      onClose={onClose}
    >
      <p>One decision and one comment for each of these low-risk, non-privileged items:</p>
      <ul data-testid="bulk-items">
        {items.map((i) => (
          <li key={i.id}>
            {i.label} held by {i.holder.name} ({sourceText(i.source)})
          </li>
        ))}
      </ul>
      <label htmlFor="bulk-comment">What you checked (required)</label>
      <textarea id="bulk-comment" rows={3} value={comment} onChange={(e) => setComment(e.target.value)} />
    </ConfirmDialog>
  );
}

/** Closing a campaign before its deadline (admin): each undecided item follows `onNoResponse`. */
export function CloseCampaignDialog({
  campaign,
  onClose,
  onDone,
}: {
  campaign: ReviewCampaign;
  onClose: () => void;
  onDone: (message: string) => void;
}) {
  const refetch = useRefetch();
  const close = useMutation({
    mutationFn: () =>
      unwrap(api.POST("/api/reviews/campaigns/{id}/close", { params: { path: { id: campaign.id } } })),
    onSuccess: async (d) => {
      await refetch([REVIEW_KEY]);
      onDone(
        d.campaign.status === "closed"
          ? `Campaign ${campaign.definition} is closed: ${completionText(d.campaign.decided, d.campaign.total)} decided by people, the rest as the campaign's onNoResponse says.`
          : `Campaign ${campaign.definition} stays open: its undecided items were escalated to the reviewers' managers and the deadline extended.`,
      );
    },
  });
  return (
    <ConfirmDialog
      title="Close this campaign now?"
      confirm="Close campaign"
      busy={close.isPending}
      error={close.isError ? refusalText(close.error) : null}
      onConfirm={() => close.mutate()}
      onClose={onClose}
    >
      <p>
        Campaign <strong>{campaign.definition}</strong> closes before its deadline (
        {new Date(campaign.deadline).toLocaleString()}). Its <strong>{campaign.pending}</strong> undecided
        item{campaign.pending === 1 ? "" : "s"} follow the campaign's <code>onNoResponse</code> for their
        risk: kept, revoked, or escalated to the reviewers' managers (then the campaign stays open). Nobody
        can decide in it afterwards.
      </p>
    </ConfirmDialog>
  );
}
