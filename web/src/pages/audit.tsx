import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import { useSearchParams } from "react-router";
import { api, unwrap } from "../api/client.js";
import { EventDetails } from "../components/event-details.js";
import { Pager } from "../components/pager.js";
import { Empty, ErrorMessage, Loading, PageTitle, TableRegion, Time } from "../components/states.js";

const FIELDS = ["identity", "action", "since", "until"] as const;
type Field = (typeof FIELDS)[number];

/** The audit ledger, searched by identity, action and time; oldest first, a page at a time. */
export default function AuditLog() {
  const [params, setParams] = useSearchParams();
  const value = (f: Field) => params.get(f) ?? "";
  const cursor = params.get("cursor") ?? undefined;
  const [draft, setDraft] = useState<Record<Field, string>>({
    identity: value("identity"),
    action: value("action"),
    since: value("since"),
    until: value("until"),
  });
  const query = Object.fromEntries(FIELDS.filter((f) => value(f) !== "").map((f) => [f, value(f)]));
  const events = useQuery({
    queryKey: ["audit", query, cursor],
    queryFn: () =>
      unwrap(
        api.GET("/api/audit/events", {
          params: { query: { limit: 50, ...query, ...(cursor !== undefined ? { cursor } : {}) } },
        }),
      ),
    placeholderData: keepPreviousData,
  });

  function apply(event: FormEvent) {
    event.preventDefault();
    const next = new URLSearchParams();
    for (const f of FIELDS) if (draft[f].trim() !== "") next.set(f, draft[f].trim());
    setParams(next);
  }

  const labels: Record<Field, string> = {
    identity: "Identity (key, email or id)",
    action: "Action",
    since: "Since",
    until: "Until",
  };
  return (
    <>
      <PageTitle>Audit log</PageTitle>
      <form className="filters" aria-label="Audit events" onSubmit={apply}>
        {FIELDS.map((f) => (
          <div key={f}>
            <label htmlFor={`audit-${f}`}>{labels[f]}</label>
            <input
              id={`audit-${f}`}
              type={f === "since" || f === "until" ? "date" : "text"}
              value={draft[f]}
              placeholder={f === "action" ? "e.g. identity.terminated" : undefined}
              onChange={(e) => setDraft({ ...draft, [f]: e.target.value })}
            />
          </div>
        ))}
        <button type="submit">Search</button>
      </form>
      {events.isPending ? (
        <Loading what="audit events" />
      ) : events.isError ? (
        <ErrorMessage error={events.error} what="audit events" />
      ) : events.data.items.length === 0 ? (
        <Empty>No event matches.</Empty>
      ) : (
        <>
          <TableRegion label="Audit events">
            <table aria-busy={events.isFetching}>
              <thead>
                <tr>
                  <th scope="col">#</th>
                  <th scope="col">When</th>
                  <th scope="col">Who</th>
                  <th scope="col">Action</th>
                  <th scope="col">Subject</th>
                  <th scope="col">Details</th>
                </tr>
              </thead>
              <tbody>
                {events.data.items.map((e) => (
                  <tr key={e.seq}>
                    <td>{e.seq}</td>
                    <td>
                      <Time iso={e.time} />
                    </td>
                    <td>{e.actor}</td>
                    <td>{e.action}</td>
                    <td>{e.subject}</td>
                    <td className="details">
                      <EventDetails summary={e.summary} details={e.details} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableRegion>
          <Pager
            label="Audit events"
            cursor={cursor}
            nextCursor={events.data.nextCursor}
            onPage={(next) => {
              const p = new URLSearchParams(params);
              if (next === undefined) p.delete("cursor");
              else p.set("cursor", next);
              setParams(p);
            }}
          />
        </>
      )}
    </>
  );
}
