import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import { Link, useSearchParams } from "react-router";
import { api, unwrap } from "../api/client.js";
import { Pager } from "../components/pager.js";
import { Empty, ErrorMessage, Loading, PageTitle, TableRegion, Time } from "../components/states.js";

const STATES = ["prehire", "active", "suspended", "terminated", "deleted"] as const;
type State = (typeof STATES)[number];
const PAGE = 50;

/** Identities: searched and filtered by the server, a page at a time; the URL holds the filters. */
export default function Identities() {
  const [params, setParams] = useSearchParams();
  const q = params.get("q") ?? "";
  const state = params.get("state") ?? "";
  const department = params.get("department") ?? "";
  const cursor = params.get("cursor") ?? undefined;
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
              ...(STATES.includes(state as State) ? { state: state as State } : {}),
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
    const next = new URLSearchParams();
    for (const [key, value] of Object.entries(draft)) if (value.trim() !== "") next.set(key, value.trim());
    setParams(next);
  }

  function page(next: string | undefined) {
    const p = new URLSearchParams(params);
    if (next === undefined) p.delete("cursor");
    else p.set("cursor", next);
    setParams(p);
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
            {STATES.map((s) => (
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
      {list.isPending ? (
        <Loading what="identities" />
      ) : list.isError ? (
        <ErrorMessage error={list.error} what="identities" />
      ) : list.data.items.length === 0 ? (
        <Empty>No identity matches.</Empty>
      ) : (
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
                {list.data.items.map((i) => (
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
          <Pager label="Identities" cursor={cursor} nextCursor={list.data.nextCursor} onPage={page} />
        </>
      )}
    </>
  );
}
