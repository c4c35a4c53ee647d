import type { Schemas } from "../api/client.js";
import { EventDetails } from "./event-details.js";
import { TableRegion, Time } from "./states.js";

type AuditEvent = Schemas["AuditEvent"];

/**
 * Audit events as a table: when, who, the action and what it changed in words (the recorded details a
 * click away). `ledger` adds the sequence number and the subject, for the audit log itself.
 */
export function EventTable({
  events,
  label,
  ledger,
  busy,
}: {
  events: readonly AuditEvent[];
  label: string;
  ledger?: boolean;
  /** A newer page is on its way: the rows shown are the previous page's. */
  busy?: boolean;
}) {
  return (
    <TableRegion label={label}>
      <table aria-busy={busy}>
        <thead>
          <tr>
            {ledger && <th scope="col">#</th>}
            <th scope="col">When</th>
            <th scope="col">Who</th>
            <th scope="col">Action</th>
            {ledger && <th scope="col">Subject</th>}
            <th scope="col">Details</th>
          </tr>
        </thead>
        <tbody>
          {events.map((e) => (
            <tr key={e.seq}>
              {ledger && <td>{e.seq}</td>}
              <td>
                <Time iso={e.time} />
              </td>
              <td>{e.actor}</td>
              <td>{e.action}</td>
              {ledger && <td>{e.subject}</td>}
              <td className="details">
                <EventDetails summary={e.summary} details={e.details} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </TableRegion>
  );
}
