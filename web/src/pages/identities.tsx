import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import { Link } from "react-router";
import { api, unwrap } from "../api/client.js";
import { LIFECYCLE_STATES, type LifecycleState } from "../components/lifecycle.js";
import { Pager } from "../components/pager.js";
import { QueryView } from "../components/query-view.js";
import { PageTitle, TableRegion, Time } from "../components/states.js";
import { useUrlParams } from "../components/url-params.js";

const PAGE = 50;

/** Identities: searched and filtered by the server, a page at a time; the URL holds the filters. */
export default function Identities() {
  const { value, cursor, filter, page } = useUrlParams();
  const q = value("q");
  const state = value("state");
  const department = value("department");
  const [draft, setDraft] = useState({ q, state, department });

  const list = useQuery({
    queryKey: ["identities", q, state, department, cursor],
    queryFn: () =>
      unwrap(
        api.GET("/api/identities", {
          params: {
            query: {
              limit: PAGE,
              ...(q !== "" ? { q } : {}),
              ...(LIFECYCLE_STATES.includes(state as LifecycleState)
                ? { state: state as LifecycleState }
                : {}),
              ...(department !== "" ? { department } : {}),
              ...(cursor !== undefined ? { cursor } : {}),
            },
          },
        }),
      ),
    placeholderData: keepPreviousData,
  });

  function apply(event: FormEvent) {
    event.preventDefault();
    filter(draft);
  }

  return (
    <>
      <PageTitle>Identities</PageTitle>
      <form className="filters" onSubmit={apply} aria-label="Identities">
        <div>
          <label htmlFor="q">Search</label>
          <input
            id="q"
            type="search"
            value={draft.q}
            placeholder="HR key, name, email or id"
            onChange={(e) => setDraft({ ...draft, q: e.target.value })}
          />
        </div>
        <div>
          <label htmlFor="state">State</label>
          <select
            id="state"
            value={draft.state}
            onChange={(e) => setDraft({ ...draft, state: e.target.value })}
          >
            <option value="">any</option>
            {LIFECYCLE_STATES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </div>
        <div>
          <label htmlFor="department">Department</label>
          <input
            id="department"
            value={draft.department}
            onChange={(e) => setDraft({ ...draft, department: e.target.value })}
          />
        </div>
        <button type="submit">Search</button>
      </form>
      <QueryView
        query={list}
        what="identities"
        isEmpty={(d) => d.items.length === 0}
        empty="No identity matches."
      >
        {(d) => (
          <>
            <TableRegion label="Identities found">
              <table aria-busy={list.isFetching}>
                <thead>
                  <tr>
                    <th scope="col">HR key</th>
                    <th scope="col">Name</th>
                    <th scope="col">Email</th>
                    <th scope="col">Department</th>
                    <th scope="col">State</th>
                    <th scope="col">Since</th>
                  </tr>
                </thead>
                <tbody>
                  {d.items.map((i) => (
                    <tr key={i.id}>
                      <td>
                        <Link to={`/identities/${encodeURIComponent(i.sourceKey)}`}>{i.sourceKey}</Link>
                      </td>
                      <td>{i.attributes.displayName}</td>
                      <td>{i.attributes.email ?? "—"}</td>
                      <td>{i.attributes.department ?? "—"}</td>
                      <td>
                        <span className={`badge state-${i.state}`}>{i.state}</span>
                      </td>
                      <td>
                        <Time iso={i.stateSince} />
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </TableRegion>
            <Pager label="Identities" cursor={cursor} nextCursor={d.nextCursor} onPage={page} />
          </>
        )}
      </QueryView>
    </>
  );
}
