import { useQuery } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import { api, unwrap } from "../api/client.js";
import type { paths } from "../api/schema.js";
import { QueryView } from "../components/query-view.js";
import { PageTitle } from "../components/states.js";
import { useUrlParams } from "../components/url-params.js";

type Cell = string | number | boolean | null;
type ReportName = paths["/api/reports/{name}"]["get"]["parameters"]["path"]["name"];

/** A date field's value as the instant the API takes (the start of that day, UTC). */
function instant(date: string): string | undefined {
  return date === "" ? undefined : `${date}T00:00:00.000Z`;
}

function cellText(value: Cell | undefined): string {
  if (value === null || value === undefined) return "";
  if (typeof value === "boolean") return value ? "yes" : "no";
  return String(value);
}

/** Rows shown on the page; the downloads hold every row. */
const SHOWN = 200;

/**
 * The evidence reports (docs/reports.md): pick one and a period, read its summary, alerts and first rows
 * here, and download it as CSV, JSON or one self-contained HTML file for the auditor's papers.
 */
export default function Reports() {
  const { value, filter } = useUrlParams();
  const name = value("report");
  const [draft, setDraft] = useState({ report: name, from: value("from"), to: value("to") });
  const list = useQuery({
    queryKey: ["reports"],
    queryFn: () => unwrap(api.GET("/api/reports")),
  });
  const period = {
    ...(instant(value("from")) !== undefined ? { from: instant(value("from")) } : {}),
    ...(instant(value("to")) !== undefined ? { to: instant(value("to")) } : {}),
  };
  const chosen = list.data?.reports.find((r) => r.name === name);
  const report = useQuery({
    queryKey: ["report", name, period],
    enabled: chosen !== undefined,
    queryFn: async () => {
      const answer = await unwrap(
        api.GET("/api/reports/{name}", {
          params: {
            path: { name: name as ReportName },
            query: { format: "json", ...(chosen?.period ? period : {}) },
          },
        }),
      );
      // Asked for JSON: the text forms (CSV, HTML) are the download links.
      if (typeof answer === "string") throw new Error("the server answered text where JSON was asked for");
      return answer;
    },
  });

  function run(event: FormEvent) {
    event.preventDefault();
    filter(draft);
  }

  const link = (format: "csv" | "json" | "html") => {
    const q = new URLSearchParams({ format, ...(chosen?.period ? period : {}) });
    return `/api/reports/${encodeURIComponent(name)}?${q}`;
  };
  return (
    <>
      <PageTitle>Reports</PageTitle>
      <QueryView query={list} what="the reports">
        {(d) => {
          const selected = d.reports.find((r) => r.name === draft.report);
          return (
            <form className="filters" aria-label="Choose a report" onSubmit={run}>
              <div>
                <label htmlFor="report-name">Report</label>
                <select
                  id="report-name"
                  value={draft.report}
                  onChange={(e) => setDraft({ ...draft, report: e.target.value })}
                >
                  <option value="">Choose a report…</option>
                  {d.reports.map((r) => (
                    <option key={r.name} value={r.name}>
                      {r.title}
                    </option>
                  ))}
                </select>
              </div>
              {selected?.period !== false && (
                <>
                  <div>
                    <label htmlFor="report-from">From</label>
                    <input
                      id="report-from"
                      type="date"
                      value={draft.from}
                      onChange={(e) => setDraft({ ...draft, from: e.target.value })}
                    />
                  </div>
                  <div>
                    <label htmlFor="report-to">To (exclusive)</label>
                    <input
                      id="report-to"
                      type="date"
                      value={draft.to}
                      onChange={(e) => setDraft({ ...draft, to: e.target.value })}
                    />
                  </div>
                </>
              )}
              <button type="submit" disabled={draft.report === ""}>
                Show
              </button>
              {selected !== undefined && <p className="hint">{selected.description}</p>}
            </form>
          );
        }}
      </QueryView>
      {chosen !== undefined && (
        <QueryView query={report} what={`the report ${chosen.title}`}>
          {(r) => (
            <section aria-labelledby="report-title">
              <h2 id="report-title">{r.title}</h2>
              <p>{r.description}</p>
              <p>
                Download:{" "}
                <a href={link("html")} download={`${r.name}.html`}>
                  HTML
                </a>{" "}
                ·{" "}
                <a href={link("csv")} download={`${r.name}.csv`}>
                  CSV
                </a>{" "}
                ·{" "}
                <a href={link("json")} download={`${r.name}.json`}>
                  JSON
                </a>
              </p>
              {r.alerts.length > 0 && (
                <div className="error" role="alert">
                  <strong>
                    {r.alerts.length} alert{r.alerts.length === 1 ? "" : "s"}
                  </strong>
                  <ul>
                    {r.alerts.map((a) => (
                      <li key={a}>{a}</li>
                    ))}
                  </ul>
                </div>
              )}
              <dl className="attributes">
                <div>
                  <dt>Generated</dt>
                  <dd>{r.generatedAt}</dd>
                </div>
                {r.from !== null && (
                  <div>
                    <dt>Period</dt>
                    <dd>
                      {r.from} – {r.to}
                    </dd>
                  </div>
                )}
                <div>
                  <dt>Rows</dt>
                  <dd>{r.rows.length}</dd>
                </div>
                {Object.entries(r.summary).map(([k, v]) => (
                  <div key={k}>
                    <dt>{k}</dt>
                    <dd>{cellText(v)}</dd>
                  </div>
                ))}
              </dl>
              {r.rows.length === 0 ? (
                <p>No row.</p>
              ) : (
                <div className="table-region">
                  <table aria-label={r.title}>
                    <thead>
                      <tr>
                        {r.columns.map((c) => (
                          <th key={c.key} scope="col">
                            {c.label}
                          </th>
                        ))}
                      </tr>
                    </thead>
                    <tbody>
                      {r.rows.slice(0, SHOWN).map((row, i) => (
                        // biome-ignore lint/suspicious/noArrayIndexKey: rows have no id of their own; the list never reorders.
                        <tr key={i}>
                          {r.columns.map((c) => (
                            <td key={c.key}>{cellText(row[c.key])}</td>
                          ))}
                        </tr>
                      ))}
                    </tbody>
                  </table>
                  {r.rows.length > SHOWN && (
                    <p>
                      The first {SHOWN} of {r.rows.length} rows; the downloads hold them all.
                    </p>
                  )}
                </div>
              )}
            </section>
          )}
        </QueryView>
      )}
    </>
  );
}
