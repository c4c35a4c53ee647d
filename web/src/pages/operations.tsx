import { keepPreviousData, useMutation, useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { Link } from "react-router";
import { api, type Schemas, unwrap } from "../api/client.js";
import { ConfirmDialog } from "../components/confirm-dialog.js";
import { LineageList } from "../components/lineage.js";
import { Pager } from "../components/pager.js";
import { QueryView } from "../components/query-view.js";
import { useRefetch } from "../components/refetch.js";
import { PageTitle, TableRegion, Time } from "../components/states.js";
import { useUrlParams } from "../components/url-params.js";
import { useSession } from "../session.js";

const STATES = ["pending", "running", "awaiting", "succeeded", "failed", "dead"] as const;
type State = (typeof STATES)[number];
type Operation = Schemas["OperationInput"];

/** The operations queue by state and system; a dead operation can be put back, after seeing what it does. */
export default function Operations() {
  const { can } = useSession();
  const refetch = useRefetch();
  const { value, cursor, filter, page } = useUrlParams();
  const state = value("state");
  const system = value("system");
  const [retrying, setRetrying] = useState<Operation | null>(null);
  const [done, setDone] = useState<string | null>(null);

  const list = useQuery({
    queryKey: ["operations", state, system, cursor],
    queryFn: () =>
      unwrap(
        api.GET("/api/operations", {
          params: {
            query: {
              limit: 50,
              ...(STATES.includes(state as State) ? { state: state as State } : {}),
              ...(system !== "" ? { system } : {}),
              ...(cursor !== undefined ? { cursor } : {}),
            },
          },
        }),
      ),
    placeholderData: keepPreviousData,
  });
  const retry = useMutation({
    mutationFn: (id: string) => unwrap(api.POST("/api/operations/{id}/retry", { params: { path: { id } } })),
    onSuccess: async (_data, id) => {
      await refetch(["operations"], ["dashboard"]);
      setRetrying(null);
      setDone(`Operation ${id} is queued again; the apply loop will run it shortly.`);
    },
  });

  return (
    <>
      <PageTitle>Operations</PageTitle>
      <form className="filters" onSubmit={(e) => e.preventDefault()} aria-label="Operation filters">
        <div>
          <label htmlFor="op-state">State</label>
          <select id="op-state" value={state} onChange={(e) => filter({ state: e.target.value })}>
            <option value="">any</option>
            {STATES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </div>
        <div>
          <label htmlFor="op-system">System</label>
          <input id="op-system" defaultValue={system} onBlur={(e) => filter({ system: e.target.value })} />
        </div>
      </form>
      <div role="status" aria-live="polite">
        {done}
      </div>
      <QueryView
        query={list}
        what="operations"
        isEmpty={(d) => d.items.length === 0}
        empty={`No operation${state !== "" ? ` is ${state}` : ""}.`}
      >
        {(d) => (
          <>
            <TableRegion label="Operations">
              <table aria-busy={list.isFetching}>
                <thead>
                  <tr>
                    <th scope="col">#</th>
                    <th scope="col">System</th>
                    <th scope="col">Change</th>
                    <th scope="col">Account</th>
                    <th scope="col">Entitlement</th>
                    <th scope="col">State</th>
                    <th scope="col">Attempts</th>
                    <th scope="col">Last error</th>
                    <th scope="col">Why</th>
                    <th scope="col">Updated</th>
                    {can("operations:retry") && <th scope="col">Action</th>}
                  </tr>
                </thead>
                <tbody>
                  {d.items.map((op) => (
                    <tr key={op.id}>
                      <td>{op.seq}</td>
                      <td>{op.system}</td>
                      <td>{op.kind}</td>
                      <td>
                        {op.identityId !== null ? (
                          <Link to={`/identities/${encodeURIComponent(op.identityId)}`}>{op.username}</Link>
                        ) : (
                          op.username
                        )}
                      </td>
                      <td>{op.entitlement ?? "—"}</td>
                      <td>
                        <span className={`badge op-${op.state}`}>{op.state}</span>
                      </td>
                      <td>
                        {op.attempts}/{op.maxAttempts}
                      </td>
                      <td className="details">{op.lastError ?? "—"}</td>
                      <td className="details">{op.reason}</td>
                      <td>
                        <Time iso={op.updatedAt} />
                      </td>
                      {can("operations:retry") && (
                        <td>
                          {op.state === "dead" && (
                            <button
                              type="button"
                              onClick={() => {
                                retry.reset();
                                setDone(null);
                                setRetrying(op);
                              }}
                            >
                              Retry
                            </button>
                          )}
                        </td>
                      )}
                    </tr>
                  ))}
                </tbody>
              </table>
            </TableRegion>
            <Pager label="Operations" cursor={cursor} nextCursor={d.nextCursor} onPage={page} />
          </>
        )}
      </QueryView>
      {retrying !== null && (
        <ConfirmDialog
          title="Retry this operation?"
          confirm="Retry operation"
          busy={retry.isPending}
          error={retry.error?.message ?? null}
          onConfirm={() => retry.mutate(retrying.id)}
          onClose={() => setRetrying(null)}
        >
          <p>It is put back in the queue and runs again at once, with its attempts counted afresh:</p>
          <dl className="attributes">
            <div>
              <dt>System</dt>
              <dd>{retrying.system}</dd>
            </div>
            <div>
              <dt>Change</dt>
              <dd>
                {retrying.kind}
                {retrying.entitlement !== null ? ` ${retrying.entitlement}` : ""}
              </dd>
            </div>
            <div>
              <dt>Account</dt>
              <dd>{retrying.username}</dd>
            </div>
            <div>
              <dt>Entitlement</dt>
              <dd>{retrying.entitlement ?? "—"}</dd>
            </div>
            <div>
              <dt>Why it exists</dt>
              <dd>
                {retrying.reason}
                <LineageList lineage={retrying.lineage} fallback="" />
              </dd>
            </div>
            <div>
              <dt>Last error</dt>
              <dd>{retrying.lastError ?? "—"}</dd>
            </div>
          </dl>
        </ConfirmDialog>
      )}
    </>
  );
}
