import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import { api, unwrap } from "../api/client.js";
import { EventTable } from "../components/event-table.js";
import { Pager } from "../components/pager.js";
import { QueryView } from "../components/query-view.js";
import { PageTitle } from "../components/states.js";
import { useUrlParams } from "../components/url-params.js";

const FIELDS = ["identity", "action", "since", "until"] as const;
type Field = (typeof FIELDS)[number];

/** The audit ledger, searched by identity, action and time; oldest first, a page at a time. */
export default function AuditLog() {
  const { value, cursor, filter, page } = useUrlParams();
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
    filter(draft);
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
      <QueryView
        query={events}
        what="audit events"
        isEmpty={(d) => d.items.length === 0}
        empty="No event matches."
      >
        {(d) => (
          <>
            <EventTable events={d.items} label="Audit events" ledger busy={events.isFetching} />
            <Pager label="Audit events" cursor={cursor} nextCursor={d.nextCursor} onPage={page} />
          </>
        )}
      </QueryView>
    </>
  );
}
