import { useQuery } from "@tanstack/react-query";
import { api, type Schemas, unwrap } from "../api/client.js";
import { Time } from "./states.js";

export type SodViolation = Schemas["SodViolation"];
export type SodRule = Schemas["SodRule"];
export type SodException = Schemas["SodException"];
type SodScan = Schemas["SodScan"];
export type Severity = SodViolation["severity"];

/** Riskiest first, as the server orders violations. */
export const SEVERITIES: readonly Severity[] = ["high", "medium", "low"];

// The console's colours for bad, needs attention and quiet (the request states use the same three).
const SEVERITY_CLASS: Record<Severity, string> = {
  high: "req-denied",
  medium: "req-pending",
  low: "req-cancelled",
};
const STATUS_CLASS: Record<SodViolation["status"], string> = {
  open: "req-denied",
  withheld: "req-pending",
  excepted: "req-approved",
  closed: "req-cancelled",
};
// The same colours as the badges (styles.css: --bad, the amber of pending, --muted).
const SEVERITY_FILL: Record<Severity, string> = { high: "#b00020", medium: "#7a4a00", low: "#4d5560" };

/** Every query of separation of duties starts with this key: one invalidation reads them all again. */
export const SOD_KEY = "sod";

/** The rules, with their mitigations and open counts (the Rules view, and the exception dialog's hint). */
export function useSodRules() {
  return useQuery({
    queryKey: [SOD_KEY, "rules"],
    queryFn: () => unwrap(api.GET("/api/sod/rules")),
    staleTime: 60_000,
  });
}

export function SeverityBadge({ severity }: { severity: Severity }) {
  return <span className={`badge ${SEVERITY_CLASS[severity]}`}>{severity}</span>;
}

export function ViolationStatusBadge({
  status,
  testId,
}: {
  status: SodViolation["status"];
  testId?: string;
}) {
  return (
    <span className={`badge ${STATUS_CLASS[status]}`} data-testid={testId}>
      {status}
    </span>
  );
}

/** What collides, in the rule's words: `app:deployers + app:readers`. */
export function accessLabel(v: Pick<SodViolation, "sides">): string {
  return v.sides.map((s) => s.label).join(" + ");
}

/** A rule's condition in words: `A or B with C`, or `more than 2 of A, B, C`. */
export function conflictText(r: SodRule): string {
  return r.kind === "pair"
    ? `${r.sideA.join(" or ")} with ${r.sideB.join(" or ")}`
    : `more than ${r.max ?? "?"} of ${r.sideA.join(", ")}`;
}

const BAR = 14;
const GAP = 4;
const HEIGHT = 60;

/**
 * Open violations by severity over the last scans, as stacked bars (oldest left), with the latest
 * totals in words beside it for those who do not see the picture. No chart library: a few rectangles.
 */
export function TrendBars({ scans }: { scans: readonly SodScan[] }) {
  const shown = scans.slice(-40);
  const last = shown.at(-1);
  if (last === undefined) return <p className="muted">No scan yet.</p>;
  const top = Math.max(1, ...shown.map((s) => s.bySeverity.high + s.bySeverity.medium + s.bySeverity.low));
  const width = shown.length * (BAR + GAP);
  const summary = `${last.open} open at the last scan: ${SEVERITIES.map((s) => `${last.bySeverity[s]} ${s}`).join(", ")}`;
  return (
    <figure className="trend">
      <svg
        width={width}
        height={HEIGHT}
        viewBox={`0 0 ${width} ${HEIGHT}`}
        role="img"
        aria-label={`Open violations by severity over the last ${shown.length} scan${shown.length === 1 ? "" : "s"}; ${summary}`}
      >
        {shown.map((s, n) => {
          let y = HEIGHT;
          return (
            <g key={s.id}>
              <title>{`${new Date(s.at).toLocaleString()}: ${SEVERITIES.map((k) => `${s.bySeverity[k]} ${k}`).join(", ")} (${s.kind})`}</title>
              {/* A transparent full-height bar so an empty scan still shows its tooltip. */}
              <rect x={n * (BAR + GAP)} y={0} width={BAR} height={HEIGHT} fill="transparent" />
              {[...SEVERITIES].reverse().map((k) => {
                const h = (s.bySeverity[k] / top) * (HEIGHT - 2);
                y -= h;
                return h === 0 ? null : (
                  <rect key={k} x={n * (BAR + GAP)} y={y} width={BAR} height={h} fill={SEVERITY_FILL[k]} />
                );
              })}
            </g>
          );
        })}
      </svg>
      <figcaption data-testid="trend-summary">
        {summary} (<Time iso={last.at} />)
      </figcaption>
    </figure>
  );
}
