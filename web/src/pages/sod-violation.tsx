import { useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { Link, useParams } from "react-router";
import { api, unwrap } from "../api/client.js";
import { ExceptionDialog, RevokeExceptionDialog } from "../components/exception-dialog.js";
import {
  accessLabel,
  conflictText,
  SeverityBadge,
  SOD_KEY,
  type SodException,
  type SodViolation,
  useSodRules,
  ViolationStatusBadge,
} from "../components/sod-parts.js";
import { Empty, ErrorMessage, Loading, PageTitle, Time } from "../components/states.js";
import { useSession } from "../session.js";

/**
 * One violation (the page a rule owner's notification links to): who holds what against which rule, every
 * reason each side is held, when; the exception accepting it, if any; and, for people who decide, accepting
 * it with an exception or revoking that exception. The server decides who may: its refusal is shown.
 */
export default function SodViolationPage() {
  const { id = "" } = useParams();
  const { can } = useSession();
  const [acting, setActing] = useState<"accept" | "revoke" | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const violation = useQuery({
    queryKey: [SOD_KEY, "violation", id],
    queryFn: () => unwrap(api.GET("/api/sod/violations/{id}", { params: { path: { id } } })),
  });
  const rules = useSodRules();
  if (violation.isPending) return <Loading what="the violation" />;
  if (violation.isError) return <ErrorMessage error={violation.error} what={`violation ${id}`} />;
  const v = violation.data;
  const rule = rules.data?.rules.find((r) => r.name === v.rule);
  const decides = can("sod:decide");
  const mayAccept = decides && (v.status === "open" || v.status === "withheld");
  const mayRevoke = decides && v.status === "excepted" && v.exception !== null;
  const finish = (message: string) => {
    setActing(null);
    setDone(message);
  };

  return (
    <>
      <p>
        <Link to="/sod">← Separation of duties</Link>
      </p>
      <PageTitle>
        {v.rule}: {v.holder.name}
      </PageTitle>
      <p>
        <ViolationStatusBadge status={v.status} testId="violation-status" />{" "}
        <SeverityBadge severity={v.severity} /> {statusText(v)} · <span className="muted">id {v.id}</span>
      </p>
      <div role="status" aria-live="polite" data-testid="violation-outcome">
        {done}
      </div>
      {(mayAccept || mayRevoke) && (
        <div className="page-actions">
          {mayAccept && (
            <button
              type="button"
              className="primary"
              onClick={() => {
                setDone(null);
                setActing("accept");
              }}
            >
              Accept with exception
            </button>
          )}
          {mayRevoke && (
            <button
              type="button"
              onClick={() => {
                setDone(null);
                setActing("revoke");
              }}
            >
              Revoke exception
            </button>
          )}
        </div>
      )}
      <section aria-labelledby="violation-title">
        <h2 id="violation-title">The violation</h2>
        <dl className="attributes">
          <div>
            <dt>Holder</dt>
            <dd>
              <Link to={`/identities/${encodeURIComponent(v.holder.id)}`}>{v.holder.name}</Link>
              {v.holder.employeeId !== null && <span className="muted"> ({v.holder.employeeId})</span>}
            </dd>
          </div>
          <div>
            <dt>Rule</dt>
            <dd>{v.rule}</dd>
          </div>
          <div>
            <dt>Risk</dt>
            <dd data-testid="violation-risk">{v.description ?? "— (the rule is no longer configured)"}</dd>
          </div>
          <div>
            <dt>Rule owner</dt>
            <dd>{v.owner ?? "nobody (admins decide)"}</dd>
          </div>
          {rule !== undefined && (
            <div>
              <dt>Conflict</dt>
              <dd>{conflictText(rule)}</dd>
            </div>
          )}
          {rule !== undefined && rule.mitigations.length > 0 && (
            <div>
              <dt>Mitigations</dt>
              <dd>{rule.mitigations.map((m) => m.control).join("; ")}</dd>
            </div>
          )}
          <div>
            <dt>Held together from</dt>
            <dd>
              <Time iso={v.heldFrom} />
            </dd>
          </div>
          <div>
            <dt>Held together until</dt>
            <dd>{v.heldUntil === null ? "no end" : <Time iso={v.heldUntil} />}</dd>
          </div>
          <div>
            <dt>Opened</dt>
            <dd>
              <Time iso={v.openedAt} />
            </dd>
          </div>
          <div>
            <dt>Last seen</dt>
            <dd>
              <Time iso={v.lastSeenAt} />
            </dd>
          </div>
          <div>
            <dt>Closed</dt>
            <dd>
              <Time iso={v.closedAt} />
              {v.closeReason !== null && ` (${v.closeReason})`}
            </dd>
          </div>
        </dl>
      </section>
      <section aria-labelledby="sides-title">
        <h2 id="sides-title">The access that collides</h2>
        <p className="muted">{accessLabel(v)}, and why each is held:</p>
        {v.sides.map((s, n) => (
          // biome-ignore lint/suspicious/noArrayIndexKey: the sides are a fixed list, in the rule's order; a label may repeat in an atMost rule's sides
          <section key={n} aria-labelledby={`side-${n}`} data-testid="violation-side">
            <h3 id={`side-${n}`}>{s.label}</h3>
            {s.why.length === 0 ? (
              <p className="muted">no reason recorded</p>
            ) : (
              <ul className="lineage">
                {s.why.map((w) => (
                  <li key={w}>{w}</li>
                ))}
              </ul>
            )}
          </section>
        ))}
      </section>
      <section aria-labelledby="exception-title">
        <h2 id="exception-title">Exception</h2>
        {v.exception === null ? (
          <Empty>
            {v.status === "closed"
              ? "None: the violation is closed."
              : "None: nobody has accepted this violation. The rule's owner or an admin may, with a mitigating control and an expiry."}
          </Empty>
        ) : (
          <ExceptionDetails exception={v.exception} />
        )}
      </section>
      {acting === "accept" && (
        <ExceptionDialog violation={v} rule={rule} onClose={() => setActing(null)} onDone={finish} />
      )}
      {acting === "revoke" && v.exception !== null && (
        <RevokeExceptionDialog
          violation={v}
          exception={v.exception}
          onClose={() => setActing(null)}
          onDone={finish}
        />
      )}
    </>
  );
}

function statusText(v: SodViolation): string {
  switch (v.status) {
    case "open":
      return "held together now, not accepted";
    case "withheld":
      return "the newer access is kept out until an exception is approved";
    case "excepted":
      return "accepted by an exception in force";
    case "closed":
      return "no longer held together";
  }
}

function ExceptionDetails({ exception: e }: { exception: SodException }) {
  return (
    <dl className="attributes" data-testid="exception-details">
      <div>
        <dt>State</dt>
        <dd>{e.state}</dd>
      </div>
      <div>
        <dt>Approver</dt>
        <dd>{e.approver.name}</dd>
      </div>
      <div>
        <dt>Control</dt>
        <dd>{e.control}</dd>
      </div>
      <div>
        <dt>Justification</dt>
        <dd>{e.justification}</dd>
      </div>
      <div>
        <dt>Approved</dt>
        <dd>
          <Time iso={e.approvedAt} />
        </dd>
      </div>
      <div>
        <dt>Expires</dt>
        <dd>
          <Time iso={e.expiresAt} />
        </dd>
      </div>
      {e.requestId !== null && (
        <div>
          <dt>Approved in</dt>
          <dd>
            <Link to={`/requests/${encodeURIComponent(e.requestId)}`}>request {e.requestId}</Link>
          </dd>
        </div>
      )}
      {e.revokedAt !== null && (
        <div>
          <dt>Revoked</dt>
          <dd>
            <Time iso={e.revokedAt} />
          </dd>
        </div>
      )}
    </dl>
  );
}
