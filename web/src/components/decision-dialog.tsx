import { useMutation } from "@tanstack/react-query";
import { useState } from "react";
import { api, unwrap } from "../api/client.js";
import { ConfirmDialog } from "./confirm-dialog.js";
import { useRefetch } from "./refetch.js";
import { refusalText } from "./refusal.js";
import {
  type AccessRequest,
  itemsLabel,
  provisioningText,
  type RequestOutcome,
  RequestSummary,
  standing,
} from "./request-parts.js";

export type Verdict = "approve" | "deny";

/** What a decision led to, in a sentence for the page's status line. */
export function decisionOutcome(verdict: Verdict, outcome: RequestOutcome): string {
  const r = outcome.request;
  const what = `${itemsLabel(r.items)} for ${r.beneficiary.name}`;
  if (verdict === "deny") return `You denied ${what}.`;
  if (r.state === "approved") {
    return `You approved ${what}: approved, access granted. ${provisioningText(outcome.provisioning)}`.trim();
  }
  return `You approved ${what}; it now waits for ${standing(r)}.`;
}

/**
 * Approve or deny a request waiting for the signed-in person, with an optional comment, after seeing
 * the request. Every list and page of requests is read again once it is decided.
 */
export function DecisionDialog({
  request,
  verdict,
  onClose,
  onDecided,
}: {
  request: AccessRequest;
  verdict: Verdict;
  onClose: () => void;
  onDecided: (message: string) => void;
}) {
  const refetch = useRefetch();
  const [comment, setComment] = useState("");
  const decide = useMutation({
    mutationFn: () => {
      const options = {
        params: { path: { id: request.id } },
        body: comment.trim() === "" ? {} : { comment: comment.trim() },
      };
      return unwrap(
        verdict === "approve"
          ? api.POST("/api/requests/{id}/approve", options)
          : api.POST("/api/requests/{id}/deny", options),
      );
    },
    onSuccess: async (outcome) => {
      await refetch(["requests"], ["request", request.id]);
      onDecided(decisionOutcome(verdict, outcome));
    },
  });
  const approve = verdict === "approve";
  return (
    <ConfirmDialog
      title={approve ? "Approve this request?" : "Deny this request?"}
      confirm={approve ? "Approve request" : "Deny request"}
      busy={decide.isPending}
      error={decide.isError ? refusalText(decide.error) : null}
      onConfirm={() => decide.mutate()}
      onClose={onClose}
    >
      <p>
        {approve
          ? "Your approval passes this step; when it is the last, the access is granted at once, for the time asked."
          : "A denial ends the request: nothing is granted."}
      </p>
      <RequestSummary request={request} />
      <label htmlFor="decision-comment">Comment (optional)</label>
      <textarea id="decision-comment" rows={3} value={comment} onChange={(e) => setComment(e.target.value)} />
    </ConfirmDialog>
  );
}
