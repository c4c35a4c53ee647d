import { Link } from "react-router";
import type { Schemas } from "../api/client.js";
import { SeverityBadge } from "./sod-parts.js";
import { Time } from "./states.js";

export type ReviewItem = Schemas["ReviewItem"];
export type ReviewCampaign = Schemas["ReviewCampaign"];
export type ReviewReport = Schemas["ReviewReport"];
export type ItemState = ReviewItem["state"];

/** Every query of access reviews starts with this key: one invalidation reads them all again. */
export const REVIEW_KEY = "reviews";

/** Undecided first, as the API lists them. */
export const ITEM_STATES: readonly ItemState[] = [
  "pending",
  "certified",
  "revoked",
  "kept-no-response",
  "revoked-no-response",
  "void",
];

/** Roles the server shows every item and every campaign's report to. */
export const SEES_ALL = new Set(["admin", "auditor"]);

const RISK_ORDER = { low: 0, medium: 1, high: 2 } as const;

/**
 * Why an item may not be decided in bulk, in words; null when it may: undecided, non-privileged items of
 * an open campaign at or below its `bulkMaxRisk` (the server checks the same).
 */
export function notBulkReason(item: ReviewItem): string | null {
  if (item.state !== "pending") return `already decided (${item.state})`;
  if (item.campaign.status !== "open") return "the campaign is closed";
  if (item.privileged) return "privileged access: decide it on its own, after reading its evidence";
  const max = item.campaign.bulkMaxRisk;
  if (RISK_ORDER[item.risk.level] > RISK_ORDER[max]) {
    return `${item.risk.level} risk: bulk decisions in this campaign cover ${max} risk at most, decide it on its own`;
  }
  return null;
}

const SOURCE_TEXT: Record<ReviewItem["source"], string> = {
  birthright: "birthright",
  assignment: "requested",
  "mover-grace": "kept after move",
  found: "found in target",
};

const SOURCE_LONG: Record<ReviewItem["source"], string> = {
  birthright: "birthright: a role the policy gives from HR attributes",
  assignment: "requested or assigned: granted to this person, not by birthright",
  "mover-grace": "kept after a move: left from the previous job for a grace period",
  found: "found in the target system only: nothing in Tenure grants it",
};

/** How the holder came to hold it, in two words (the inbox) or a sentence (the item page). */
export function sourceText(source: ReviewItem["source"], long = false): string {
  return (long ? SOURCE_LONG : SOURCE_TEXT)[source];
}

const REMOVAL_PLAN: Record<ReviewItem["source"], string> = {
  birthright:
    "The access is withheld from this person's birthright from now on (the role's owner is told), and the plan removes it.",
  assignment: "The assignment that grants it ends now, and the plan removes the access.",
  "mover-grace": "The access kept after the move is withheld from now on, and the plan removes it.",
  found: "The access found in the system is removed there by an operation naming this review.",
};

/** What a revocation undoes, by where the access comes from (review-removal.ts). */
export function removalPlan(source: ReviewItem["source"]): string {
  return REMOVAL_PLAN[source];
}

/** The risk level as the console's badge (the severity colours) with its score. */
export function RiskBadge({ risk }: { risk: ReviewItem["risk"] }) {
  return (
    <span className="risk" data-testid="risk">
      <SeverityBadge severity={risk.level} /> <span title="risk score, 0 to 100">{risk.score}</span>
    </span>
  );
}

/** Keep or revoke, as the risk suggests: revoke in the colour of what needs attention. */
export function Recommendation({ risk }: { risk: ReviewItem["risk"] }) {
  return risk.recommendation === "revoke" ? <strong className="bad-text">revoke</strong> : <span>keep</span>;
}

/**
 * Last use of the account the access is on. The evidence holds null both for "never used" and for "not
 * reported by the connector": the risk's `never-used` reason tells them apart.
 */
export function LastUse({ item }: { item: ReviewItem }) {
  const at = item.evidence.lastUsedAt;
  if (at !== null) return <Time iso={at} />;
  return item.risk.reasons.some((r) => r.code === "never-used") ? (
    <span className="bad-text">never</span>
  ) : (
    <span className="muted">not reported</span>
  );
}

/** `2 of 10 peers (20%)`, or that there are no peers to compare with. */
export function peersText(peers: ReviewItem["evidence"]["peers"]): string {
  if (peers === null || peers.total === 0) return "no peers to compare";
  const pct = Math.round((peers.holding / peers.total) * 1000) / 10;
  return `${peers.holding} of ${peers.total} peers (${pct}%)`;
}

const STATE_CLASS: Record<ItemState, string> = {
  pending: "req-pending",
  certified: "req-approved",
  revoked: "req-denied",
  "kept-no-response": "req-cancelled",
  "revoked-no-response": "req-denied",
  void: "req-cancelled",
};

export function ItemStateBadge({ state, testId }: { state: ItemState; testId?: string }) {
  return (
    <span className={`badge ${STATE_CLASS[state]}`} data-testid={testId}>
      {state}
    </span>
  );
}

export function CampaignStatusBadge({ status }: { status: ReviewCampaign["status"] }) {
  return <span className={`badge ${status === "open" ? "req-pending" : "req-cancelled"}`}>{status}</span>;
}

/** The deadline, and `overdue` when an open campaign has passed it. */
export function Deadline({ campaign: c }: { campaign: ReviewCampaign }) {
  const overdue = c.status === "open" && Date.parse(c.deadline) < Date.now();
  return (
    <>
      <Time iso={c.deadline} />
      {overdue && <strong className="bad-text"> overdue</strong>}
    </>
  );
}

/** Decided share of a campaign: `3 of 8 (38%)`. */
export function completionText(decided: number, total: number): string {
  if (total === 0) return "no items";
  return `${decided} of ${total} (${Math.round((decided / total) * 100)}%)`;
}

/** What a decision or a delegation led to, in a sentence for the page's status line. */
export function outcomeText(before: ReviewItem, after: ReviewItem, delegatedTo?: string): string {
  const what = `${before.label} for ${before.holder.name}`;
  if (delegatedTo !== undefined) {
    return `You handed ${what} to ${after.reviewer?.name ?? delegatedTo}: it left your list.`;
  }
  if (after.state === "revoked") {
    return `You revoked ${what}: the access is removed at its source and confirmed in the target.`;
  }
  if (after.state === "pending" && after.stage > before.stage) {
    return `You certified ${what}: it now waits for ${after.reviewer?.name ?? "the next reviewer"} (stage ${after.stage + 1}).`;
  }
  return `You certified ${what}: kept.`;
}

const VIEWS = [
  { to: "/reviews", label: "My reviews" },
  { to: "/reviews/campaigns", label: "Campaigns" },
] as const;

/** The two views of reviews: the signed-in person's items, and the campaigns. */
export function ReviewViews({ current }: { current: (typeof VIEWS)[number]["to"] }) {
  return (
    <nav aria-label="Review views" className="page-actions">
      {VIEWS.map((v) => (
        <Link
          key={v.to}
          to={v.to}
          className={v.to === current ? "button primary" : "button"}
          aria-current={v.to === current ? "page" : undefined}
        >
          {v.label}
        </Link>
      ))}
    </nav>
  );
}
