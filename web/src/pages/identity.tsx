import { useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { Link, useParams } from "react-router";
import { api, unwrap } from "../api/client.js";
import { EventTable } from "../components/event-table.js";
import { LineageList } from "../components/lineage.js";
import { Pager } from "../components/pager.js";
import { QueryView } from "../components/query-view.js";
import { ErrorMessage, Loading, PageTitle, TableRegion, Time } from "../components/states.js";
import { useSession } from "../session.js";

/** One identity: attributes, access with why (lineage), and the ledger's timeline. */
export default function IdentityPage() {
  const { ref = "" } = useParams();
  const identity = useQuery({
    queryKey: ["identity", ref],
    queryFn: () => unwrap(api.GET("/api/identities/{ref}", { params: { path: { ref } } })),
  });
  if (identity.isPending) return <Loading what="the identity" />;
  if (identity.isError) return <ErrorMessage error={identity.error} what={`identity ${ref}`} />;
  const i = identity.data;
  const a = i.attributes;
  return (
    <>
      <p>
        <Link to="/identities">← Identities</Link>
      </p>
      <PageTitle>
        {a.displayName} <span className="muted">({i.sourceKey})</span>
      </PageTitle>
      <p>
        <span className={`badge state-${i.state}`} data-testid="identity-state">
          {i.state}
        </span>{" "}
        since <Time iso={i.stateSince} />
        {i.employment > 1 ? ` · employment ${i.employment}` : ""}
      </p>
      <section aria-labelledby="attributes-title">
        <h2 id="attributes-title">Attributes</h2>
        <dl className="attributes">
          {(
            [
              ["Email", a.email],
              ["Department", a.department],
              ["Title", a.title],
              ["Manager", a.managerId],
              ["Employment type", a.employmentType],
              ["HR status", a.status],
              ["Start date", a.startDate],
              ["End date", a.endDate],
              ["Termination date", a.terminationDate],
              ["Location", a.location],
              ["Source", i.source],
              ["Id", i.id],
            ] as const
          ).map(([label, value]) => (
            <div key={label}>
              <dt>{label}</dt>
              <dd>
                {label === "Manager" && value ? (
                  <Link to={`/identities/${encodeURIComponent(value)}`}>{value}</Link>
                ) : (
                  (value ?? "—")
                )}
              </dd>
            </div>
          ))}
        </dl>
      </section>
      <Access ident={i.id} />
      <Timeline ident={i.id} />
    </>
  );
}

function Access({ ident }: { ident: string }) {
  const access = useQuery({
    queryKey: ["access", ident],
    queryFn: () => unwrap(api.GET("/api/identities/{ref}/access", { params: { path: { ref: ident } } })),
  });
  return (
    <section aria-labelledby="access-title">
      <h2 id="access-title">Access and why</h2>
      <QueryView
        query={access}
        what="access"
        isEmpty={(d) => d.entries.length === 0}
        empty="No role, account or entitlement is desired for this identity."
      >
        {(d) => (
          <TableRegion label="Access with lineage">
            <table>
              <thead>
                <tr>
                  <th scope="col">Kind</th>
                  <th scope="col">What</th>
                  <th scope="col">Why (lineage)</th>
                </tr>
              </thead>
              <tbody>
                {d.entries.map((e, n) => (
                  // biome-ignore lint/suspicious/noArrayIndexKey: entries are a fixed list in the explanation's order
                  <tr key={n}>
                    <td>{e.kind}</td>
                    <td>{e.line}</td>
                    <td>
                      <LineageList lineage={e.lineage ?? []} fallback="—" />
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

function Timeline({ ident }: { ident: string }) {
  const { can } = useSession();
  const [cursor, setCursor] = useState<string | undefined>();
  const timeline = useQuery({
    queryKey: ["timeline", ident, cursor],
    queryFn: () =>
      unwrap(
        api.GET("/api/identities/{ref}/timeline", {
          params: { path: { ref: ident }, query: { limit: 50, ...(cursor ? { cursor } : {}) } },
        }),
      ),
  });
  return (
    <section aria-labelledby="timeline-title">
      <h2 id="timeline-title">Timeline</h2>
      {can("audit:read") && (
        <p>
          <Link to={`/audit?identity=${encodeURIComponent(ident)}`}>Open in the audit log</Link>
        </p>
      )}
      <QueryView
        query={timeline}
        what="the timeline"
        isEmpty={(d) => d.items.length === 0}
        empty="No event concerns this identity."
      >
        {(d) => (
          <>
            <EventTable events={d.items} label="Timeline" />
            <Pager label="Timeline" cursor={cursor} nextCursor={d.nextCursor} onPage={setCursor} />
          </>
        )}
      </QueryView>
    </section>
  );
}
