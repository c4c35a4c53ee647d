import { keepPreviousData, useMutation, useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { Link } from "react-router";
import { api, unwrap } from "../api/client.js";
import { QueryView } from "../components/query-view.js";
import { useRefetch } from "../components/refetch.js";
import { Refusal } from "../components/refusal.js";
import {
  accessLabel,
  conflictText,
  SEVERITIES,
  type Severity,
  SeverityBadge,
  SOD_KEY,
  TrendBars,
  useSodRules,
  ViolationStatusBadge,
} from "../components/sod-parts.js";
import { PageTitle, TableRegion, Time } from "../components/states.js";
import { useUrlParams } from "../components/url-params.js";
import { useSession } from "../session.js";

const VIEWS = [
  { view: "violations", label: "Violations" },
  { view: "exceptions", label: "Exceptions" },
  { view: "rules", label: "Rules" },
] as const;
type View = (typeof VIEWS)[number]["view"];

const REPORTS = [
  { kind: "violations", what: "open violations, with the access and why it is held" },
  { kind: "exceptions", what: "every exception, with approver, control and expiry" },
  { kind: "rules", what: "the rule set, with owners, mitigations and open counts" },
  { kind: "history", what: "violations opened or closed in the last 30 days" },
] as const;

/**
 * Separation of duties: open violations riskiest first (filtered by severity and rule in the URL), the
 * exceptions accepting some of them, the rules, the trend of scans and the auditors' CSV reports; admins
 * scan on demand.
 */
export default function Sod() {
  const { value } = useUrlParams();
  const view: View = VIEWS.some((v) => v.view === value("view")) ? (value("view") as View) : "violations";
  return (
    <>
      <PageTitle>Separation of duties</PageTitle>
      <p>
        Access that must not be held together, who holds it anyway, and the exceptions that accept it for a
        while.
      </p>
      <Overview />
      <nav aria-label="Separation of duties views" className="page-actions">
        {VIEWS.map((v) => (
          <Link
            key={v.view}
            to={v.view === "violations" ? "/sod" : `/sod?view=${v.view}`}
            className={v.view === view ? "button primary" : "button"}
            aria-current={v.view === view ? "page" : undefined}
          >
            {v.label}
          </Link>
        ))}
      </nav>
      {view === "violations" && <Violations />}
      {view === "exceptions" && <Exceptions />}
      {view === "rules" && <Rules />}
      <Reports />
    </>
  );
}

/** The trend of the last scans, and Scan now for those who may. */
function Overview() {
  const { can } = useSession();
  const refetch = useRefetch();
  const [done, setDone] = useState<string | null>(null);
  const trend = useQuery({
    queryKey: [SOD_KEY, "trend"],
    queryFn: () => unwrap(api.GET("/api/sod/trend")),
  });
  const scan = useMutation({
    mutationFn: () => unwrap(api.POST("/api/sod/scan", { body: {} })),
    onSuccess: async (r) => {
      await refetch([SOD_KEY]);
      setDone(
        `Scanned ${r.scan.identities} identit${r.scan.identities === 1 ? "y" : "ies"}: ${r.open} open violation${r.open === 1 ? "" : "s"} (${r.opened} new, ${r.closed} closed).`,
      );
    },
  });
  return (
    <section aria-labelledby="trend-title">
      <h2 id="trend-title">Trend</h2>
      <QueryView query={trend} what="the trend of scans">
        {(d) => <TrendBars scans={d.scans} />}
      </QueryView>
      {can("sod:scan") && (
        <div className="page-actions">
          <button
            type="button"
            disabled={scan.isPending}
            onClick={() => {
              setDone(null);
              scan.mutate();
            }}
          >
            {scan.isPending ? "Scanning…" : "Scan now"}
          </button>
        </div>
      )}
      {scan.isError && <Refusal error={scan.error} />}
      <div role="status" aria-live="polite" data-testid="scan-outcome">
        {done}
      </div>
    </section>
  );
}

function Violations() {
  const { value, filter } = useUrlParams();
  const severity = value("severity");
  const rule = value("rule");
  const rules = useSodRules();
  const list = useQuery({
    queryKey: [SOD_KEY, "violations", severity, rule],
    queryFn: () =>
      unwrap(
        api.GET("/api/sod/violations", {
          params: {
            query: {
              ...(SEVERITIES.includes(severity as Severity) ? { severity: severity as Severity } : {}),
              ...(rule !== "" ? { rule } : {}),
            },
          },
        }),
      ),
    placeholderData: keepPreviousData,
  });
  const ruleNames = rules.data?.rules.map((r) => r.name) ?? [];
  if (rule !== "" && !ruleNames.includes(rule)) ruleNames.push(rule);
  return (
    <section aria-labelledby="violations-title">
      <h2 id="violations-title">Open violations</h2>
      <form className="filters" onSubmit={(e) => e.preventDefault()} aria-label="Violation filters">
        <div>
          <label htmlFor="sod-severity">Severity</label>
          <select id="sod-severity" value={severity} onChange={(e) => filter({ severity: e.target.value })}>
            <option value="">any</option>
            {SEVERITIES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </div>
        <div>
          <label htmlFor="sod-rule">Rule</label>
          <select id="sod-rule" value={rule} onChange={(e) => filter({ rule: e.target.value })}>
            <option value="">any</option>
            {ruleNames.map((r) => (
              <option key={r} value={r}>
                {r}
              </option>
            ))}
          </select>
        </div>
      </form>
      <QueryView
        query={list}
        what="violations"
        isEmpty={(d) => d.violations.length === 0}
        empty={`No open violation${severity !== "" || rule !== "" ? " matches these filters" : ""}.`}
      >
        {(d) => (
          <TableRegion label="Open violations, riskiest first">
            <table aria-busy={list.isFetching}>
              <thead>
                <tr>
                  <th scope="col">Holder</th>
                  <th scope="col">Rule</th>
                  <th scope="col">Severity</th>
                  <th scope="col">Status</th>
                  <th scope="col">Access</th>
                  <th scope="col">Opened</th>
                </tr>
              </thead>
              <tbody>
                {d.violations.map((v) => (
                  <tr key={v.id}>
                    <td>
                      <Link to={`/sod/violations/${encodeURIComponent(v.id)}`}>{v.holder.name}</Link>
                    </td>
                    <td>{v.rule}</td>
                    <td>
                      <SeverityBadge severity={v.severity} />
                    </td>
                    <td>
                      <ViolationStatusBadge status={v.status} />
                    </td>
                    <td className="details">{accessLabel(v)}</td>
                    <td>
                      <Time iso={v.openedAt} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableRegion>
        )}
      </QueryView>
    </section>
  );
}

function Exceptions() {
  const { value, filter } = useUrlParams();
  const state = value("state");
  const list = useQuery({
    queryKey: [SOD_KEY, "exceptions", state],
    queryFn: () =>
      unwrap(
        api.GET("/api/sod/exceptions", {
          params: { query: state === "in-force" || state === "ended" ? { state } : {} },
        }),
      ),
    placeholderData: keepPreviousData,
  });
  return (
    <section aria-labelledby="exceptions-title">
      <h2 id="exceptions-title">Exceptions</h2>
      <form className="filters" onSubmit={(e) => e.preventDefault()} aria-label="Exception filters">
        <div>
          <label htmlFor="sod-exception-state">State</label>
          <select id="sod-exception-state" value={state} onChange={(e) => filter({ state: e.target.value })}>
            <option value="">any</option>
            <option value="in-force">in force</option>
            <option value="ended">ended (expired or revoked)</option>
          </select>
        </div>
      </form>
      <QueryView
        query={list}
        what="exceptions"
        isEmpty={(d) => d.exceptions.length === 0}
        empty="No exception."
      >
        {(d) => (
          <TableRegion label="Exceptions, newest first">
            <table aria-busy={list.isFetching}>
              <thead>
                <tr>
                  <th scope="col">Holder</th>
                  <th scope="col">Rule</th>
                  <th scope="col">State</th>
                  <th scope="col">Approver</th>
                  <th scope="col">Control</th>
                  <th scope="col">Expires</th>
                </tr>
              </thead>
              <tbody>
                {d.exceptions.map((e) => (
                  <tr key={e.id}>
                    <td>
                      {e.violationId !== null ? (
                        <Link to={`/sod/violations/${encodeURIComponent(e.violationId)}`}>
                          {e.holder.name}
                        </Link>
                      ) : (
                        e.holder.name
                      )}
                    </td>
                    <td>
                      {e.rule}
                      {e.requestId !== null && (
                        <>
                          {" "}
                          <Link to={`/requests/${encodeURIComponent(e.requestId)}`} className="muted">
                            (request)
                          </Link>
                        </>
                      )}
                    </td>
                    <td>{e.state}</td>
                    <td>{e.approver.name}</td>
                    <td className="details">{e.control}</td>
                    <td>
                      <Time iso={e.revokedAt ?? e.expiresAt} />
                      {e.revokedAt !== null && <span className="muted"> (revoked)</span>}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableRegion>
        )}
      </QueryView>
    </section>
  );
}

function Rules() {
  const rules = useSodRules();
  return (
    <section aria-labelledby="rules-title">
      <h2 id="rules-title">Rules</h2>
      <QueryView
        query={rules}
        what="the rules"
        isEmpty={(d) => d.rules.length === 0}
        empty="No rule: tenure.yaml has no sod: rules."
      >
        {(d) => (
          <TableRegion label="Separation-of-duties rules">
            <table>
              <thead>
                <tr>
                  <th scope="col">Rule</th>
                  <th scope="col">Severity</th>
                  <th scope="col">Owner</th>
                  <th scope="col">Conflict</th>
                  <th scope="col">Location</th>
                  <th scope="col">Open</th>
                </tr>
              </thead>
              <tbody>
                {d.rules.map((r) => (
                  <tr key={r.name}>
                    <td className="details">
                      <strong>{r.name}</strong>
                      <br />
                      {r.description}
                      {r.scope !== null && <span className="muted"> (where {r.scope})</span>}
                    </td>
                    <td>
                      <SeverityBadge severity={r.severity} />
                    </td>
                    <td>{r.owner ?? "—"}</td>
                    <td className="details">{conflictText(r)}</td>
                    <td>{r.location}</td>
                    <td>
                      {r.openViolations === 0 ? (
                        "0"
                      ) : (
                        <Link
                          to={`/sod?rule=${encodeURIComponent(r.name)}`}
                          aria-label={`${r.openViolations} open violations of ${r.name}`}
                        >
                          {r.openViolations}
                        </Link>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableRegion>
        )}
      </QueryView>
    </section>
  );
}

/** The auditors' reports as CSV: plain links, the session's cookie authorises them. */
function Reports() {
  return (
    <section aria-labelledby="reports-title">
      <h2 id="reports-title">Reports</h2>
      <ul>
        {REPORTS.map((r) => (
          <li key={r.kind}>
            <a href={`/api/sod/reports/${r.kind}?format=csv`} download={`sod-${r.kind}.csv`}>
              {r.kind}.csv
            </a>
            : {r.what}
          </li>
        ))}
      </ul>
    </section>
  );
}
