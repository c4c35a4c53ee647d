import { useMutation } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import { Link } from "react-router";
import { api, unwrap } from "../api/client.js";
import { ConfirmDialog } from "../components/confirm-dialog.js";
import { QueryView } from "../components/query-view.js";
import { useRefetch } from "../components/refetch.js";
import { Refusal, refusalText } from "../components/refusal.js";
import {
  duration,
  itemLabel,
  provisioningText,
  type RequestOutcome,
  standing,
} from "../components/request-parts.js";
import {
  ActsForNobody,
  type Requestable,
  RequestablePolicy,
  useRequestable,
} from "../components/requestable.js";
import { PageTitle, Time } from "../components/states.js";
import { useSession } from "../session.js";

/**
 * Just-in-time elevation: an elevation role for a few hours, approved by its steps, at once by policy
 * (an incident ticket, say), or — in an emergency — at once by breaking glass, which the security
 * contacts are told of and the role's owner reviews afterwards.
 */
export default function Elevate() {
  const { session } = useSession();
  const requestable = useRequestable();
  const roles = (requestable.data?.items ?? []).filter((i) => i.elevation && i.item.kind === "role");
  return (
    <>
      <PageTitle>Elevate</PageTitle>
      <p>
        Take an elevation role for a few hours, for a task or an incident. It ends by itself when the time is
        up; you can also end it earlier from the request's page.
      </p>
      {session.identity === null ? (
        <ActsForNobody />
      ) : (
        <QueryView
          query={requestable}
          what="the elevation roles"
          isEmpty={() => roles.length === 0}
          empty="No elevation role is configured (a role with elevation: true and requestable)."
        >
          {() => <ElevationForm roles={roles} />}
        </QueryView>
      )}
    </>
  );
}

const EMPTY = { duration: "", justification: "", ticket: "", breakGlass: false };

function ElevationForm({ roles }: { roles: Requestable[] }) {
  const refetch = useRefetch();
  const [chosen, setChosen] = useState("");
  const [draft, setDraft] = useState<typeof EMPTY>(EMPTY);
  const [confirming, setConfirming] = useState(false);
  const [outcome, setOutcome] = useState<RequestOutcome | null>(null);
  const role = roles.find((r) => itemLabel(r.item) === chosen) ?? roles[0]!;
  const roleName = role.item.kind === "role" ? role.item.role : "";
  const asked = draft.duration.trim() === "" ? duration(role.defaultDurationMs) : draft.duration.trim();

  const elevate = useMutation({
    mutationFn: () =>
      unwrap(
        api.POST("/api/elevations", {
          body: {
            role: roleName,
            duration: asked,
            justification: draft.justification,
            ...(draft.ticket.trim() !== "" ? { ticket: draft.ticket.trim() } : {}),
            breakGlass: draft.breakGlass,
          },
        }),
      ),
    onSuccess: async (result) => {
      await refetch(["requests"]);
      setConfirming(false);
      setOutcome(result);
      setDraft(EMPTY);
    },
  });

  function submit(event: FormEvent) {
    event.preventDefault();
    setOutcome(null);
    elevate.reset();
    // Breaking glass skips every approver: said once more, in a dialog, before it is done.
    if (draft.breakGlass) setConfirming(true);
    else elevate.mutate();
  }

  return (
    <>
      <form className="ask" onSubmit={submit} aria-label="Elevation">
        <div>
          <label htmlFor="elevate-role">Role</label>
          <select
            id="elevate-role"
            value={itemLabel(role.item)}
            onChange={(e) => setChosen(e.target.value)}
            aria-describedby="elevate-policy"
          >
            {roles.map((r) => (
              <option key={itemLabel(r.item)} value={itemLabel(r.item)}>
                {r.label}
                {r.eligible === false ? " (not eligible)" : ""}
              </option>
            ))}
          </select>
        </div>
        <RequestablePolicy item={role} id="elevate-policy" />
        <div>
          <label htmlFor="elevate-duration">Duration</label>
          <input
            id="elevate-duration"
            value={draft.duration}
            placeholder={duration(role.defaultDurationMs)}
            onChange={(e) => setDraft({ ...draft, duration: e.target.value })}
            aria-describedby="elevate-duration-hint"
          />
          <p id="elevate-duration-hint" className="hint">
            From the grant: 30m, 2h. Empty: {duration(role.defaultDurationMs)}; at most{" "}
            {duration(role.maxDurationMs)}.
          </p>
        </div>
        <div>
          <label htmlFor="elevate-reason">Reason (required)</label>
          <textarea
            id="elevate-reason"
            rows={3}
            aria-required="true"
            value={draft.justification}
            onChange={(e) => setDraft({ ...draft, justification: e.target.value })}
          />
        </div>
        <div>
          <label htmlFor="elevate-ticket">Ticket (optional)</label>
          <input
            id="elevate-ticket"
            value={draft.ticket}
            onChange={(e) => setDraft({ ...draft, ticket: e.target.value })}
            aria-describedby="elevate-ticket-hint"
          />
          <p id="elevate-ticket-hint" className="hint">
            The incident or change it is for, e.g. INC-42
            {role.autoApprove ? ": policy may approve at once on it" : ""}.
          </p>
        </div>
        <div className={`break-glass${draft.breakGlass ? " armed" : ""}`}>
          <input
            id="elevate-break-glass"
            type="checkbox"
            checked={draft.breakGlass}
            onChange={(e) => setDraft({ ...draft, breakGlass: e.target.checked })}
            aria-describedby="elevate-break-glass-warning"
          />
          <label htmlFor="elevate-break-glass">Break glass: grant at once, without approval</label>
          <p id="elevate-break-glass-warning">
            <strong>Emergency only.</strong> No approver is asked: the access is granted now. The security
            contacts are told at once, and the role's owner must review it afterwards; if they deny it, the
            access ends. Everything is in the audit log under your name.
          </p>
        </div>
        {elevate.isError && !confirming && <Refusal error={elevate.error} />}
        <div>
          <button type="submit" className="primary" disabled={elevate.isPending}>
            {draft.breakGlass ? "Break glass and elevate" : "Elevate"}
          </button>
        </div>
      </form>
      <div role="status" aria-live="polite" data-testid="elevation-outcome">
        {outcome !== null && <Outcome outcome={outcome} />}
      </div>
      {confirming && (
        <ConfirmDialog
          title="Break glass?"
          confirm="Break glass"
          busy={elevate.isPending}
          error={elevate.isError ? refusalText(elevate.error) : null}
          onConfirm={() => elevate.mutate()}
          onClose={() => setConfirming(false)}
        >
          <p>
            You get <strong>{role.label}</strong> for <strong>{asked}</strong> at once, without anyone's
            approval. The security contacts are told now and the role's owner reviews it afterwards.
          </p>
        </ConfirmDialog>
      )}
    </>
  );
}

/** What became of the elevation: granted (until when), or waiting for whom. */
function Outcome({ outcome }: { outcome: RequestOutcome }) {
  const r = outcome.request;
  const link = <Link to={`/requests/${encodeURIComponent(r.id)}`}>See the request</Link>;
  if (r.state === "approved") {
    const until = r.grants.map((g) => g.validUntil).find((u) => u !== null) ?? null;
    return (
      <div className="outcome good">
        <p>
          <strong>Granted at once</strong>
          {r.kind === "break-glass" ? " by breaking glass" : r.autoApproved ? ", approved by policy" : ""}
          {until !== null && (
            <>
              {" "}
              — until <Time iso={until} />
            </>
          )}
          . {provisioningText(outcome.provisioning)}
        </p>
        <p>{link}</p>
      </div>
    );
  }
  return (
    <div className="outcome">
      <p>
        <strong>Pending</strong>: waiting for {standing(r)}. You get the access once it is approved, for{" "}
        {duration(r.durationMs)} from then.
      </p>
      <p>{link}</p>
    </div>
  );
}
