import { useQuery } from "@tanstack/react-query";
import { Link } from "react-router";
import { api, unwrap } from "../api/client.js";
import { QueryView } from "../components/query-view.js";
import { PageTitle, TableRegion, Time } from "../components/states.js";
import { useSession } from "../session.js";

/** Connected systems: live health, accounts, orphans, drift, last reconcile, and their dead operations. */
export default function Systems() {
  const { can } = useSession();
  const systems = useQuery({ queryKey: ["systems"], queryFn: () => unwrap(api.GET("/api/systems")) });
  return (
    <>
      <PageTitle>Systems</PageTitle>
      <QueryView
        query={systems}
        what="systems"
        loading="systems (each is asked whether it answers)"
        isEmpty={(d) => d.items.length === 0}
        empty="No system is configured: add one under systems: in tenure.yaml."
      >
        {(d) => (
          <TableRegion label="Systems">
            <table>
              <thead>
                <tr>
                  <th scope="col">System</th>
                  <th scope="col">Owner</th>
                  <th scope="col">Health</th>
                  <th scope="col">Accounts</th>
                  <th scope="col">Orphans</th>
                  <th scope="col">Drift</th>
                  <th scope="col">Policy</th>
                  <th scope="col">Last reconcile</th>
                  {can("operations:read") && <th scope="col">Operations</th>}
                </tr>
              </thead>
              <tbody>
                {d.items.map((s) => (
                  <tr key={s.name}>
                    <th scope="row">
                      {s.name} <span className="muted">({s.connector})</span>
                    </th>
                    <td>{s.owner ?? "—"}</td>
                    <td>
                      {s.health.status === "ok" ? (
                        <span className="ok">ok ({s.health.checkedInMs} ms)</span>
                      ) : (
                        <span className="bad-text">unreachable: {s.health.message}</span>
                      )}
                    </td>
                    <td>{s.counts.accounts}</td>
                    <td className={s.counts.orphans > 0 ? "bad-text" : undefined}>{s.counts.orphans}</td>
                    <td className={s.counts.drift > 0 ? "bad-text" : undefined}>{s.counts.drift}</td>
                    <td>
                      drift {s.policy.drift}, orphans {s.policy.orphans}
                    </td>
                    <td>{s.lastReconcile === null ? "never" : <Time iso={s.lastReconcile.at} />}</td>
                    {can("operations:read") && (
                      <td>
                        <Link to={`/operations?system=${encodeURIComponent(s.name)}&state=dead`}>
                          dead operations
                        </Link>
                      </td>
                    )}
                  </tr>
                ))}
              </tbody>
            </table>
          </TableRegion>
        )}
      </QueryView>
    </>
  );
}
