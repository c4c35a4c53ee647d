import { useMutation, useQuery } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import { ApiError, api, type Schemas, unwrap } from "../api/client.js";
import { LineageList } from "../components/lineage.js";
import { QueryView } from "../components/query-view.js";
import { Empty, PageTitle, TableRegion, Time } from "../components/states.js";

type Preview = Schemas["PlanPreviewInput"];
type NhiDisable = Schemas["NhiDisableForecastInput"];

const ACCOUNT: Record<NhiDisable["accountAction"], string> = {
  disable: "disabled",
  "disabled-already": "disabled already, held so",
  unenforced: "cannot be disabled by Tenure",
};

/** What the next run would change (now or at a date), and the blast radius of a configuration change. */
export default function Plan() {
  const [at, setAt] = useState("");
  const [shownAt, setShownAt] = useState("");
  const plan = useQuery({
    queryKey: ["plan", shownAt],
    queryFn: () => unwrap(api.GET("/api/plan", { params: { query: shownAt !== "" ? { at: shownAt } : {} } })),
  });
  return (
    <>
      <PageTitle>Plan</PageTitle>
      <form
        className="filters"
        onSubmit={(e) => {
          e.preventDefault();
          setShownAt(at);
        }}
      >
        <div>
          <label htmlFor="plan-at">Preview at</label>
          <input id="plan-at" type="date" value={at} onChange={(e) => setAt(e.target.value)} />
        </div>
        <button type="submit">Show plan</button>
      </form>
      <section aria-labelledby="plan-title">
        <h2 id="plan-title">What the next run would change{shownAt !== "" ? ` on ${shownAt}` : ""}</h2>
        <QueryView query={plan} what="the plan">
          {(d) => <PlanTable preview={d} label="Planned operations" />}
        </QueryView>
      </section>
      <section aria-labelledby="plan-nhi-title">
        <h2 id="plan-nhi-title">
          Non-human identities that would be disabled{shownAt !== "" ? ` by ${shownAt}` : ""}
        </h2>
        <QueryView query={plan} what="the non-human identities">
          {(d) => <NhiDisables disables={d.nhiDisables} />}
        </QueryView>
      </section>
      <ConfigPreview />
    </>
  );
}

/** Owner succession's disables by the date shown (docs/nhi.md "Previewing disables"): nobody confirming in time. */
function NhiDisables({ disables }: { disables: readonly NhiDisable[] }) {
  if (disables.length === 0) {
    return <Empty>None: no owner leaves and no pending ownership lapses by then.</Empty>;
  }
  return (
    <>
      <p>Unless a pending owner confirms in time, owner succession would disable these:</p>
      <TableRegion label="Non-human identities that would be disabled">
        <table>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">When</th>
              <th scope="col">System</th>
              <th scope="col">Account</th>
              <th scope="col">Why</th>
            </tr>
          </thead>
          <tbody>
            {disables.map((d) => (
              <tr key={d.nhiId}>
                <td>{d.name}</td>
                <td>
                  <Time iso={d.at} />
                </td>
                <td>{d.system ?? "—"}</td>
                <td>
                  {d.account !== null ? `${d.account}: ` : ""}
                  {ACCOUNT[d.accountAction]}
                  {d.accountNote !== null && <p className="muted">{d.accountNote}</p>}
                </td>
                <td>{d.why}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </TableRegion>
    </>
  );
}

function PlanTable({ preview, label }: { preview: Preview; label: string }) {
  if (preview.operations.length === 0) {
    return <Empty>Nothing: every system already matches the policy.</Empty>;
  }
  return (
    <>
      <p>
        {preview.totals.operations} operations:{" "}
        {Object.entries(preview.totals.bySystem)
          .map(([s, n]) => `${n} in ${s}`)
          .join(", ")}
        {preview.totals.drift > 0 ? `; ${preview.totals.drift} correct drift` : ""}
      </p>
      <TableRegion label={label}>
        <table>
          <thead>
            <tr>
              <th scope="col">System</th>
              <th scope="col">Change</th>
              <th scope="col">Account</th>
              <th scope="col">Entitlement</th>
              <th scope="col">Why</th>
            </tr>
          </thead>
          <tbody>
            {preview.operations.slice(0, 500).map((op) => (
              <tr key={op.idempotencyKey}>
                <td>{op.system}</td>
                <td>{op.kind}</td>
                <td>{op.username}</td>
                <td>{op.entitlement ?? "—"}</td>
                <td>
                  {op.reason}
                  <LineageList lineage={op.lineage} fallback="" />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </TableRegion>
      {preview.operations.length > 500 && (
        <p className="muted">The first 500 of {preview.operations.length}.</p>
      )}
    </>
  );
}

function ConfigPreview() {
  const [text, setText] = useState("");
  const preview = useMutation({
    mutationFn: (config: string) => unwrap(api.POST("/api/plan/preview", { body: { config } })),
  });
  function submit(event: FormEvent) {
    event.preventDefault();
    preview.mutate(text);
  }
  const error = preview.error;
  return (
    <section aria-labelledby="preview-title">
      <h2 id="preview-title">Preview a configuration change</h2>
      <form onSubmit={submit}>
        <label htmlFor="candidate">Candidate tenure.yaml</label>
        <textarea
          id="candidate"
          rows={12}
          value={text}
          onChange={(e) => setText(e.target.value)}
          aria-describedby="candidate-hint"
        />
        <p id="candidate-hint" className="muted">
          Paste the whole file as it would be. Nothing is changed and no system is contacted; leave secrets
          out.
        </p>
        <button type="submit" disabled={text.trim() === "" || preview.isPending}>
          Preview blast radius
        </button>
      </form>
      {error !== null && (
        <div className="error" role="alert">
          <p>{error.message.split("\n")[0]}</p>
          {error instanceof ApiError && error.details.length > 0 && (
            <ul>
              {error.details.map((d) => (
                <li key={d.message}>{d.message}</li>
              ))}
            </ul>
          )}
        </div>
      )}
      {preview.data !== undefined && (
        <div role="status">
          <p>
            <strong>Blast radius:</strong> {preview.data.blastRadius.identities} identities,{" "}
            {preview.data.blastRadius.operations} operations the current policy does not plan
            {preview.data.blastRadius.bySystem.length > 0 ? ": " : "."}
            {preview.data.blastRadius.bySystem
              .map(
                (s) =>
                  `${s.system} (${Object.entries(s.byKind)
                    .map(([k, n]) => `${n} ${k}`)
                    .join(", ")})`,
              )
              .join("; ")}
          </p>
          <PlanTable preview={preview.data.candidate} label="Operations under the candidate" />
        </div>
      )}
    </section>
  );
}
