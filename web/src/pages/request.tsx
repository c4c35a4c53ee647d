import { useMutation, useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { Link, useParams } from "react-router";
import { api, unwrap } from "../api/client.js";
import { ConfirmDialog } from "../components/confirm-dialog.js";
import { DecisionDialog, type Verdict } from "../components/decision-dialog.js";
import { useRefetch } from "../components/refetch.js";
import { refusalText } from "../components/refusal.js";
import {
  type AccessRequest,
  duration,
  itemsLabel,
  openGrants,
  RequestStateBadge,
  standing,
} from "../components/request-parts.js";
import { Empty, ErrorMessage, Loading, PageTitle, TableRegion, Time } from "../components/states.js";
import { useSession } from "../session.js";

type Acting = "cancel" | "revoke" | Verdict;

/**
 * One request (the page an approver's email links to): who asked what for whom and why, its approval
 * steps and decisions, the access it granted; and what the signed-in person may do with it now —
 * decide it, cancel it while it is pending, or end its access early.
 */
export default function RequestPage() {
  const { id = "" } = useParams();
  const { session, can } = useSession();
  const [acting, setActing] = useState<Acting | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const request = useQuery({
    queryKey: ["request", id],
    queryFn: () => unwrap(api.GET("/api/requests/{id}", { params: { path: { id } } })),
  });
  if (request.isPending) return <Loading what="the request" />;
  if (request.isError) return <ErrorMessage error={request.error} what={`request ${id}`} />;
  const r = request.data.request;
  const me = session.identity?.id;
  const party = me !== undefined && (r.requester.id === me || r.beneficiary.id === me);
  const approver = me !== undefined && r.steps.some((s) => s.approvers.some((a) => a.id === me));
  const admin = session.role === "admin";
  const open = openGrants(r);
  const mayCancel = can("requests:create") && r.state === "pending" && (party || admin);
  const mayEnd = can("requests:create") && open.length > 0 && (party || approver || admin);
  // The server says: it knows the steps, what was approved, and the delegations in force.
  const decides = can("requests:decide") && request.data.mayDecide;
  const standIn = request.data.standingInFor;

  function start(what: Acting) {
    setDone(null);
    setActing(what);
  }

  return (
    <>
      <p>
        <Link to="/requests">← Requests</Link>
        {can("requests:decide") && (
          <>
            {" · "}
            <Link to="/approvals">Approvals</Link>
          </>
        )}
      </p>
      <PageTitle>
        {itemsLabel(r.items)} for {r.beneficiary.name}
      </PageTitle>
      <p>
        <RequestStateBadge state={r.state} testId="request-state" /> {standing(r)}
        {r.kind !== "request" && ` · ${r.kind}`} · <span className="muted">id {r.id}</span>
      </p>
      <div role="status" aria-live="polite">
        {done}
      </div>
      {(decides || mayCancel || mayEnd) && (
        <div className="page-actions">
          {decides && (
            <>
              {standIn !== null && <span className="hint">Deciding for {standIn.name} (delegation)</span>}
              <button type="button" className="primary" onClick={() => start("approve")}>
                Approve
              </button>
              <button type="button" onClick={() => start("deny")}>
                Deny
              </button>
            </>
          )}
          {mayCancel && (
            <button type="button" onClick={() => start("cancel")}>
              Cancel request
            </button>
          )}
          {mayEnd && (
            <button type="button" onClick={() => start("revoke")}>
              End access now
            </button>
          )}
        </div>
      )}
      <section aria-labelledby="about-title">
        <h2 id="about-title">The request</h2>
        <dl className="attributes">
          {(
            [
              ["Who asks", r.requester.name],
              ["For whom", r.beneficiary.name],
              ["What", itemsLabel(r.items)],
              ["Why", r.justification],
              ["Ticket", r.ticket ?? "—"],
              ["For how long", `${duration(r.durationMs)} from the grant`],
            ] as const
          ).map(([label, value]) => (
            <div key={label}>
              <dt>{label}</dt>
              <dd>{value}</dd>
            </div>
          ))}
          <div>
            <dt>Asked</dt>
            <dd>
              <Time iso={r.submittedAt} />
            </dd>
          </div>
          <div>
            <dt>{r.state === "pending" ? "Expires unless decided" : "Closed"}</dt>
            <dd>
              <Time iso={r.state === "pending" ? r.expiresAt : r.closedAt} />
            </dd>
          </div>
        </dl>
      </section>
      <Steps request={r} />
      <Decisions request={r} />
      <Grants request={r} />
      {(acting === "approve" || acting === "deny") && (
        <DecisionDialog
          request={r}
          verdict={acting}
          onClose={() => setActing(null)}
          onDecided={(message) => {
            setActing(null);
            setDone(message);
          }}
        />
      )}
      {acting === "cancel" && (
        <CancelDialog
          request={r}
          onClose={() => setActing(null)}
          onDone={(message) => {
            setActing(null);
            setDone(message);
          }}
        />
      )}
      {acting === "revoke" && (
        <EndDialog
          request={r}
          onClose={() => setActing(null)}
          onDone={(message) => {
            setActing(null);
            setDone(message);
          }}
        />
      )}
    </>
  );
}

function Steps({ request: r }: { request: AccessRequest }) {
  return (
    <section aria-labelledby="steps-title">
      <h2 id="steps-title">Approval steps</h2>
      {r.steps.length === 0 ? (
        <Empty>
          {r.autoApproved ? "None: it was granted without a person's approval." : "No approval step."}
        </Empty>
      ) : (
        <TableRegion label="Steps and who approved">
          <table>
            <thead>
              <tr>
                <th scope="col">#</th>
                <th scope="col">Step</th>
                <th scope="col">Who may decide</th>
                <th scope="col">Approvals needed</th>
                <th scope="col">Approved by</th>
                <th scope="col">Status</th>
              </tr>
            </thead>
            <tbody>
              {r.steps.map((s, n) => (
                // biome-ignore lint/suspicious/noArrayIndexKey: the steps are a fixed list, in order, without ids
                <tr key={n}>
                  <td>{n + 1}</td>
                  <td>{s.name}</td>
                  <td>{s.approvers.map((a) => a.name).join(", ")}</td>
                  <td>{s.required}</td>
                  <td>{s.approvedBy.length === 0 ? "—" : s.approvedBy.map((a) => a.name).join(", ")}</td>
                  <td>{stepStatus(r, n)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableRegion>
      )}
    </section>
  );
}

function stepStatus(r: AccessRequest, n: number): string {
  if (n < r.currentStep) return "passed";
  if (n > r.currentStep) return r.state === "pending" ? "later" : "not reached";
  if (r.state === "pending") return "waiting";
  return r.state === "approved" ? "passed" : r.state;
}

function Decisions({ request: r }: { request: AccessRequest }) {
  return (
    <section aria-labelledby="decisions-title">
      <h2 id="decisions-title">Decisions</h2>
      {r.decisions.length === 0 ? (
        <Empty>No decision yet.</Empty>
      ) : (
        <TableRegion label="Each decision">
          <table>
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Who</th>
                <th scope="col">Step</th>
                <th scope="col">Verdict</th>
                <th scope="col">Comment</th>
              </tr>
            </thead>
            <tbody>
              {r.decisions.map((d) => (
                <tr key={`${d.at}-${d.by.id}-${d.step}`}>
                  <td>
                    <Time iso={d.at} />
                  </td>
                  <td>
                    {d.by.name}
                    {d.onBehalfOf !== null ? ` for ${d.onBehalfOf.name}` : ""}
                  </td>
                  <td>{r.steps[d.step]?.name ?? d.step + 1}</td>
                  <td>
                    {d.verdict === "approve" ? "approved" : d.verdict === "deny" ? "denied" : d.verdict}
                  </td>
                  <td className="details">{d.comment ?? "—"}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableRegion>
      )}
    </section>
  );
}

function Grants({ request: r }: { request: AccessRequest }) {
  const now = Date.now();
  return (
    <section aria-labelledby="grants-title">
      <h2 id="grants-title">Access granted</h2>
      {r.grants.length === 0 ? (
        <Empty>
          {r.state === "pending" ? "Nothing yet: it is granted once approved." : "Nothing was granted."}
        </Empty>
      ) : (
        <TableRegion label="Grants and their windows">
          <table>
            <thead>
              <tr>
                <th scope="col">What</th>
                <th scope="col">From</th>
                <th scope="col">Valid until</th>
                <th scope="col">Ended</th>
                <th scope="col">Now</th>
              </tr>
            </thead>
            <tbody>
              {r.grants.map((g) => {
                const ended = g.revokedAt ?? g.endedAt;
                const running = openGrants({ ...r, grants: [g] }, now).length > 0;
                return (
                  <tr key={g.assignment}>
                    <td>{g.target}</td>
                    <td>
                      <Time iso={g.validFrom} />
                    </td>
                    <td>
                      <Time iso={g.validUntil} />
                    </td>
                    <td>
                      <Time iso={ended} />
                    </td>
                    <td data-testid="grant-status">
                      {running ? "active" : g.revokedAt !== null ? "ended early" : "ended"}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </TableRegion>
      )}
    </section>
  );
}

type DialogProps = { request: AccessRequest; onClose: () => void; onDone: (message: string) => void };

function useRefresh(id: string) {
  const refetch = useRefetch();
  return () => refetch(["requests"], ["request", id]);
}

function CancelDialog({ request: r, onClose, onDone }: DialogProps) {
  const refresh = useRefresh(r.id);
  const cancel = useMutation({
    mutationFn: () => unwrap(api.POST("/api/requests/{id}/cancel", { params: { path: { id: r.id } } })),
    onSuccess: async () => {
      await refresh();
      onDone(`The request for ${itemsLabel(r.items)} is cancelled: nobody can approve it now.`);
    },
  });
  return (
    <ConfirmDialog
      title="Cancel this request?"
      confirm="Withdraw request"
      busy={cancel.isPending}
      error={cancel.isError ? refusalText(cancel.error) : null}
      onConfirm={() => cancel.mutate()}
      onClose={onClose}
    >
      <p>
        The request for <strong>{itemsLabel(r.items)}</strong> for {r.beneficiary.name} is withdrawn: its
        approvers can no longer decide it and nothing is granted. You can ask again later.
      </p>
    </ConfirmDialog>
  );
}

function EndDialog({ request: r, onClose, onDone }: DialogProps) {
  const refresh = useRefresh(r.id);
  const [reason, setReason] = useState("");
  const open = openGrants(r);
  const end = useMutation({
    mutationFn: () =>
      unwrap(
        api.POST("/api/requests/{id}/revoke", {
          params: { path: { id: r.id } },
          body: reason.trim() === "" ? {} : { reason: reason.trim() },
        }),
      ),
    onSuccess: async (result) => {
      await refresh();
      const unconfirmed = result.ended.filter((e) => !e.confirmed);
      onDone(
        unconfirmed.length === 0
          ? `Access ended: ${result.ended.length} grant${result.ended.length === 1 ? "" : "s"} removed and read back from the systems.`
          : `Access ended, but ${unconfirmed.length} removal${unconfirmed.length === 1 ? " is" : "s are"} not yet confirmed by the system: ${unconfirmed
              .flatMap((e) =>
                e.checks.map((c) => `${c.system} ${c.outcome}${c.detail ? ` (${c.detail})` : ""}`),
              )
              .join("; ")}. It is retried.`,
      );
    },
  });
  return (
    <ConfirmDialog
      title="End this access now?"
      confirm="End access now"
      busy={end.isPending}
      error={end.isError ? refusalText(end.error) : null}
      onConfirm={() => end.mutate()}
      onClose={onClose}
    >
      <p>
        {r.beneficiary.name} loses this access at once, before its window ends; each system is then read back
        to confirm it is gone:
      </p>
      <ul>
        {open.map((g) => (
          <li key={g.assignment}>
            {g.target}, valid until <Time iso={g.validUntil} />
          </li>
        ))}
      </ul>
      <label htmlFor="end-reason">Reason (optional)</label>
      <textarea id="end-reason" rows={2} value={reason} onChange={(e) => setReason(e.target.value)} />
    </ConfirmDialog>
  );
}
