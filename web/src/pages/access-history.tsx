import { useQuery } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import { api, unwrap } from "../api/client.js";
import { QueryView } from "../components/query-view.js";
import { PageTitle, TableRegion } from "../components/states.js";
import { useUrlParams } from "../components/url-params.js";

/** A date or date-time field's value as the instant the API takes (a date alone: the end of that day, UTC). */
function instant(value: string): string | undefined {
  if (value === "") return undefined;
  return /^\d{4}-\d{2}-\d{2}$/.test(value) ? `${value}T23:59:59.999Z` : new Date(value).toISOString();
}

/**
 * Access on any date, from the ledger (docs/audit.md): who had an access of a system then — confirmed in
 * the target and desired — and why someone had it: the HR record, the rule as written then, the role,
 * or the request and its approvals. Both forms live in the URL, so an answer can be linked to.
 */
export default function AccessHistory() {
  const { value, filter } = useUrlParams();
  const [draft, setDraft] = useState({
    system: value("system"),
    entitlement: value("entitlement"),
    at: value("at"),
    identity: value("identity"),
  });
  const asked = { system: value("system"), entitlement: value("entitlement"), at: value("at") };
  const whyAsked = { identity: value("identity"), access: value("access") };
  const whoHad = useQuery({
    queryKey: ["who-had", asked],
    enabled: asked.system !== "",
    queryFn: () =>
      unwrap(
        api.GET("/api/audit/who-had", {
          params: {
            query: {
              system: asked.system,
              ...(asked.entitlement === "" ? {} : { entitlement: asked.entitlement }),
              ...(instant(asked.at) === undefined ? {} : { at: instant(asked.at) }),
            },
          },
        }),
      ),
  });
  const why = useQuery({
    queryKey: ["why", whyAsked, asked.at],
    enabled: whyAsked.identity !== "" && whyAsked.access !== "",
    queryFn: () =>
      unwrap(
        api.GET("/api/audit/why", {
          params: {
            query: {
              identity: whyAsked.identity,
              access: whyAsked.access,
              ...(instant(asked.at) === undefined ? {} : { at: instant(asked.at) }),
            },
          },
        }),
      ),
  });

  function ask(event: FormEvent) {
    event.preventDefault();
    filter({ system: draft.system, entitlement: draft.entitlement, at: draft.at, identity: "", access: "" });
  }

  return (
    <>
      <PageTitle>Access history</PageTitle>
      <form className="filters" aria-label="Who had access" onSubmit={ask}>
        <div>
          <label htmlFor="history-system">System</label>
          <input
            id="history-system"
            value={draft.system}
            onChange={(e) => setDraft({ ...draft, system: e.target.value })}
            required
          />
        </div>
        <div>
          <label htmlFor="history-entitlement">Entitlement (empty: any account)</label>
          <input
            id="history-entitlement"
            value={draft.entitlement}
            onChange={(e) => setDraft({ ...draft, entitlement: e.target.value })}
          />
        </div>
        <div>
          <label htmlFor="history-at">On (date, end of day UTC; empty: now)</label>
          <input
            id="history-at"
            type="date"
            value={draft.at}
            onChange={(e) => setDraft({ ...draft, at: e.target.value })}
          />
        </div>
        <button type="submit">Who had it</button>
      </form>
      {asked.system !== "" && (
        <QueryView
          query={whoHad}
          what="who had the access"
          isEmpty={(d) => d.rows.length === 0}
          empty="Nobody held it then, by the ledger."
        >
          {(d) => (
            <TableRegion label="Who had the access">
              <table>
                <thead>
                  <tr>
                    <th scope="col">Account</th>
                    <th scope="col">Access</th>
                    <th scope="col">Confirmed in the target</th>
                    <th scope="col">Desired</th>
                    <th scope="col">Why</th>
                  </tr>
                </thead>
                <tbody>
                  {d.rows.map((r) => (
                    <tr key={`${r.username}:${r.entitlement ?? ""}`}>
                      <th scope="row">{r.username ?? "—"}</th>
                      <td>{r.entitlement ?? "account"}</td>
                      <td>
                        {r.confirmed.held
                          ? `yes${r.confirmed.enabled === false ? " (account disabled)" : ""}${r.confirmed.since === null ? "" : ` since ${r.confirmed.since.slice(0, 10)}`}`
                          : "no"}
                      </td>
                      <td>{r.desired.wanted ? "yes" : "no"}</td>
                      <td>
                        {r.desired.why}{" "}
                        {r.identityId !== null && r.entitlement !== null && (
                          <button
                            type="button"
                            onClick={() =>
                              filter({ identity: r.identityId!, access: `${d.system}:${r.entitlement}` })
                            }
                          >
                            Trace
                          </button>
                        )}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </TableRegion>
          )}
        </QueryView>
      )}
      {whyAsked.identity !== "" && (
        <QueryView query={why} what="why the access was held">
          {(w) => (
            <section aria-labelledby="why-title">
              <h2 id="why-title">
                Why {w.identity.name ?? w.identity.key} {w.held ? "held" : "did not hold"} {w.access}
              </h2>
              {w.configHash !== null && (
                <p className="muted">Configuration in force at the grant: {w.configHash}</p>
              )}
              <ol className="provenance">
                {w.steps.map((s) => (
                  <li key={`${s.kind}:${s.seq ?? s.text}`}>
                    <strong>{s.kind}</strong>: {s.text}
                    {s.seq !== null && <span className="muted"> (ledger event {s.seq})</span>}
                    {s.source !== undefined && (
                      <pre>{s.source.map((l) => `${String(l.line).padStart(4)} | ${l.text}`).join("\n")}</pre>
                    )}
                  </li>
                ))}
              </ol>
            </section>
          )}
        </QueryView>
      )}
    </>
  );
}
