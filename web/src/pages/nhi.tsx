import { useQuery } from "@tanstack/react-query";
import { api, unwrap } from "../api/client.js";
import { QueryView } from "../components/query-view.js";
import { PageTitle, TableRegion } from "../components/states.js";
import { useUrlParams } from "../components/url-params.js";

const SEVERITY_ORDER = { high: 0, medium: 1, low: 2 } as const;

/**
 * Non-human identities (docs/nhi.md): service accounts, API keys, OAuth apps, certificates and agents,
 * each with its owner, credential dates and the findings against nhi.policy — those with a finding first,
 * riskiest first. `?findings=only` keeps just those.
 */
export default function NonHumanIdentities() {
  const { value, filter } = useUrlParams();
  const only = value("findings") === "only";
  const nhis = useQuery({ queryKey: ["nhi"], queryFn: () => unwrap(api.GET("/api/nhi")) });
  return (
    <>
      <PageTitle>Non-human identities</PageTitle>
      <div className="filters">
        <label>
          <input
            type="checkbox"
            checked={only}
            onChange={(e) => filter({ findings: e.target.checked ? "only" : "" })}
          />{" "}
          Only those with a finding
        </label>
      </div>
      <QueryView
        query={nhis}
        what="non-human identities"
        isEmpty={(d) => d.nhis.length === 0}
        empty="No non-human identity: declare them under nhi.inventory in tenure.yaml, or discover them with nhi.discover."
      >
        {(d) => {
          const worst = (n: (typeof d.nhis)[number]) =>
            Math.min(
              3,
              ...n.findings.map((f) => SEVERITY_ORDER[f.severity as keyof typeof SEVERITY_ORDER] ?? 3),
            );
          const shown = d.nhis
            .filter((n) => !only || n.findings.length > 0)
            .sort((a, b) => worst(a) - worst(b) || a.name.localeCompare(b.name));
          return (
            <>
              <p>
                {d.nhis.length} non-human identities, {d.nhis.filter((n) => n.findings.length > 0).length}{" "}
                with a finding.
              </p>
              <TableRegion label="Non-human identities">
                <table>
                  <thead>
                    <tr>
                      <th scope="col">Name</th>
                      <th scope="col">Type</th>
                      <th scope="col">System</th>
                      <th scope="col">Owner</th>
                      <th scope="col">Status</th>
                      <th scope="col">Last rotated</th>
                      <th scope="col">Expires</th>
                      <th scope="col">Findings</th>
                    </tr>
                  </thead>
                  <tbody>
                    {shown.map((n) => (
                      <tr key={n.id}>
                        <th scope="row">
                          {n.name}
                          {n.purpose !== null && <div className="muted">{n.purpose}</div>}
                        </th>
                        <td>{n.type.replaceAll("_", " ")}</td>
                        <td>{n.system ?? "—"}</td>
                        <td>
                          {n.owner ?? (n.ownerKey === null ? "none" : `${n.ownerKey} (unknown)`)}
                          {n.pendingOwner !== null && (
                            <div className="muted">
                              passing to {n.pendingOwner}
                              {n.pendingDeadline === null ? "" : ` by ${n.pendingDeadline.slice(0, 10)}`}
                            </div>
                          )}
                        </td>
                        <td>{n.status}</td>
                        <td>{n.lastRotatedAt?.slice(0, 10) ?? n.createdOn ?? "—"}</td>
                        <td>{n.expiresAt?.slice(0, 10) ?? "—"}</td>
                        <td>
                          {n.findings.length === 0 ? (
                            <span className="ok">none</span>
                          ) : (
                            <ul className="findings">
                              {n.findings.map((f) => (
                                <li key={f.code} className={f.severity === "high" ? "bad-text" : undefined}>
                                  {f.severity}: {f.message}
                                </li>
                              ))}
                            </ul>
                          )}
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </TableRegion>
            </>
          );
        }}
      </QueryView>
    </>
  );
}
