import { useMutation, useQuery } from "@tanstack/react-query";
import { Link } from "react-router";
import { api, unwrap } from "../api/client.js";
import { LIFECYCLE_STATES } from "../components/lifecycle.js";
import { useRefetch } from "../components/refetch.js";
import { Empty, ErrorMessage, Loading, PageTitle, TableRegion, Time } from "../components/states.js";
import { useSession } from "../session.js";

/** The run name of owner succession's stops (workflows/nhi-succession.ts): confirmed here, by the API. */
const NHI_RUN = "NHI owner succession";

/**
 * A stop of NHI disables (docs/nhi.md "Mass-change protection"): an admin lets exactly this plan through
 * (`POST /api/nhi-mass-change/confirm`); a plan that changed since is refused, nothing changed, and said so.
 */
function NhiStop({ planHash, canConfirm }: { planHash: string; canConfirm: boolean }) {
  const refetch = useRefetch();
  const confirm = useMutation({
    mutationFn: () => unwrap(api.POST("/api/nhi-mass-change/confirm", { body: { planHash } })),
    onSuccess: () => refetch(["dashboard"]),
  });
  return (
    <>
      <p>
        If it is intended, an admin confirms exactly this plan:{" "}
        <code>tenure nhi sync --confirm-mass-change {planHash}</code>
      </p>
      {canConfirm && (
        <button
          type="button"
          disabled={confirm.isPending || confirm.isSuccess}
          onClick={() => confirm.mutate()}
        >
          Confirm these NHI disables
        </button>
      )}
      <div role="status" aria-live="polite">
        {confirm.data !== undefined && `${confirm.data.disabled.length} non-human identities disabled.`}
      </div>
      {confirm.error !== null && (
        <p className="error" role="alert">
          {confirm.error.message.split("\n")[0]}
        </p>
      )}
    </>
  );
}

/** The state of the installation at a glance: what needs someone's attention comes first. */
export default function Dashboard() {
  const { can } = useSession();
  const dashboard = useQuery({
    queryKey: ["dashboard"],
    queryFn: () => unwrap(api.GET("/api/dashboard")),
    refetchInterval: 30_000,
  });
  // Live health asks every system, which may be slow: loaded apart so the rest shows at once.
  const systems = useQuery({
    queryKey: ["systems"],
    queryFn: () => unwrap(api.GET("/api/systems")),
    enabled: can("systems:read"),
  });
  if (dashboard.isPending) return <Loading what="the dashboard" />;
  if (dashboard.isError) return <ErrorMessage error={dashboard.error} what="the dashboard" />;
  const d = dashboard.data;
  const health = new Map((systems.data?.items ?? []).map((s) => [s.name, s.health]));
  const leavers = d.leavers.withEnabledAccounts;
  return (
    <>
      <PageTitle>Dashboard</PageTitle>
      <p className="muted">
        As of <Time iso={d.generatedAt} />
      </p>
      <div className="tiles">
        <section className={`tile ${leavers === 0 ? "good" : "bad"}`} aria-labelledby="leavers-title">
          <h2 id="leavers-title">Leavers with an enabled account</h2>
          <p className="big" data-testid="leavers-enabled">
            {leavers}
          </p>
          {leavers === 0 ? (
            <p>Every terminated identity's accounts are disabled.</p>
          ) : (
            <ul>
              {d.leavers.items.map((l) => (
                <li key={l.id}>
                  <Link to={`/identities/${encodeURIComponent(l.sourceKey)}`}>
                    {l.displayName} ({l.sourceKey})
                  </Link>
                  : {l.accounts.map((a) => `${a.system} ${a.username}`).join(", ")}
                </li>
              ))}
            </ul>
          )}
        </section>
        <section className="tile" aria-labelledby="identities-title">
          <h2 id="identities-title">Identities ({d.identities.total})</h2>
          <dl className="counts">
            {LIFECYCLE_STATES.map((state) => (
              <div key={state}>
                <dt>
                  <Link to={`/identities?state=${state}`}>{state}</Link>
                </dt>
                <dd data-testid={`state-${state}`}>{d.identities.byState[state] ?? 0}</dd>
              </div>
            ))}
          </dl>
        </section>
        <section className={`tile ${d.operations.dead > 0 ? "bad" : ""}`} aria-labelledby="ops-title">
          <h2 id="ops-title">Operations</h2>
          <dl className="counts">
            <div>
              <dt>
                <Link to="/operations?state=pending">pending</Link>
              </dt>
              <dd data-testid="ops-pending">{d.operations.pending}</dd>
            </div>
            <div>
              <dt>
                <Link to="/operations?state=failed">failed, retrying</Link>
              </dt>
              <dd data-testid="ops-failed">{d.operations.failed}</dd>
            </div>
            <div>
              <dt>
                <Link to="/operations?state=dead">dead</Link>
              </dt>
              <dd data-testid="ops-dead">{d.operations.dead}</dd>
            </div>
          </dl>
        </section>
      </div>

      <section aria-labelledby="stops-title">
        <h2 id="stops-title">Mass-change stops waiting for confirmation</h2>
        {d.massChangeStops.length === 0 ? (
          <Empty>None: no run was stopped by mass-change protection this week.</Empty>
        ) : (
          <ul className="stops">
            {d.massChangeStops.map((s) => (
              <li key={s.planHash} className="bad">
                <p>
                  <strong>{s.run}</strong> by {s.actor}, <Time iso={s.time} />:{" "}
                  {s.exceeded
                    .map((c) =>
                      c.kind === "source"
                        ? `source ${c.name} would terminate ${c.disable} of ${c.total}`
                        : s.run === NHI_RUN
                          ? `would disable ${c.disable} of ${c.total} non-human identities`
                          : `system ${c.name} would disable ${c.disable} and delete ${c.delete} of ${c.total}`,
                    )
                    .join("; ")}
                </p>
                {s.run === NHI_RUN ? (
                  <NhiStop planHash={s.planHash} canConfirm={can("mass-change:confirm")} />
                ) : (
                  <p>
                    If it is intended, an admin confirms exactly this plan:{" "}
                    <code>tenure sync --confirm-mass-change {s.planHash}</code>
                  </p>
                )}
              </li>
            ))}
          </ul>
        )}
      </section>

      <section aria-labelledby="systems-title">
        <h2 id="systems-title">Systems</h2>
        <TableRegion label="Systems">
          <table>
            <thead>
              <tr>
                <th scope="col">System</th>
                <th scope="col">Health</th>
                <th scope="col">Last reconcile</th>
                <th scope="col">Accounts</th>
                <th scope="col">Orphans</th>
                <th scope="col">Drift</th>
              </tr>
            </thead>
            <tbody>
              {d.systems.map((s) => {
                const h = health.get(s.name);
                const r = s.lastReconcile;
                return (
                  <tr key={s.name}>
                    <th scope="row">
                      {s.name} <span className="muted">({s.connector})</span>
                    </th>
                    <td>
                      {!can("systems:read") ? (
                        "—"
                      ) : h === undefined ? (
                        systems.isError ? (
                          "unknown"
                        ) : (
                          "checking…"
                        )
                      ) : (
                        <span
                          className={h.status === "ok" ? "ok" : "bad-text"}
                          title={h.message ?? undefined}
                        >
                          {h.status === "ok" ? "ok" : `unreachable: ${h.message ?? ""}`}
                        </span>
                      )}
                    </td>
                    <td>{r === null ? "never" : <Time iso={r.at} />}</td>
                    <td>{r?.accounts ?? "—"}</td>
                    <td>{r?.orphans ?? "—"}</td>
                    <td>{r === null ? "—" : r.unmanagedEntitlements + r.missingEntitlements}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </TableRegion>
      </section>
    </>
  );
}
