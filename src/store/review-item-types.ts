import type {
  ItemRisk,
  RemovalState,
  RerouteReason,
  ReviewAccess,
  ReviewItemEvidence,
  ReviewItemState,
  ReviewSource,
} from "../domain/review-types.js";

/** A review item as the store gives it, kept as a row of review_items or packed (review-pack-codec.ts). */

export interface ReviewItem {
  id: string;
  campaignId: string;
  identityId: string;
  access: ReviewAccess;
  /** `role:NAME` or `entitlement:SYSTEM:KEY`. */
  accessKey: string;
  source: ReviewSource;
  assignmentId: string | null;
  privileged: boolean;
  risk: ItemRisk;
  evidence: ReviewItemEvidence;
  stage: number;
  reviewerId: string | null;
  ruleReviewerId: string | null;
  rerouteReason: RerouteReason | null;
  state: ReviewItemState;
  decidedBy: string | null;
  decidedAt: string | null;
  comment: string | null;
  bulk: boolean;
  removalState: RemovalState | null;
  removalDetail: string | null;
  removalAttempts: number;
  removalNextAt: string | null;
  confirmedAt: string | null;
  version: number;
  createdAt: string;
}

/** A changed item, written only if nobody changed it since it was read (its version). */
export type ItemChange = Partial<
  Pick<
    ReviewItem,
    | "stage"
    | "reviewerId"
    | "ruleReviewerId"
    | "rerouteReason"
    | "state"
    | "decidedBy"
    | "decidedAt"
    | "comment"
    | "bulk"
    | "removalState"
    | "removalDetail"
    | "removalAttempts"
    | "removalNextAt"
    | "confirmedAt"
  >
>;
