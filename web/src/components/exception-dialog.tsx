import { useMutation } from "@tanstack/react-query";
import { useState } from "react";
import { api, unwrap } from "../api/client.js";
import { ConfirmDialog } from "./confirm-dialog.js";
import { useRefetch } from "./refetch.js";
import { refusalText } from "./refusal.js";
import { accessLabel, SOD_KEY, type SodException, type SodRule, type SodViolation } from "./sod-parts.js";

/** A date as `<input type="date">` holds it, in the browser's time zone. */
function dateValue(d: Date): string {
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

const DAY = 86_400_000;

/**
 * Accepting a violation with an exception: the mitigating control (the rule's mitigations offered, the
 * first filled in), a justification and the last day it holds. The server decides who may (the rule's
 * owner or an admin, never the holder) and whether the rest is acceptable; its refusal is shown here in
 * its words and nothing is changed. Every separation-of-duties query is read again once it is accepted.
 */
export function ExceptionDialog({
  violation: v,
  rule,
  onClose,
  onDone,
}: {
  violation: SodViolation;
  /** The violation's rule, when the rules are loaded: its mitigations are the control's suggestions. */
  rule: SodRule | undefined;
  onClose: () => void;
  onDone: (message: string) => void;
}) {
  const refetch = useRefetch();
  const mitigations = rule?.mitigations ?? [];
  const [control, setControl] = useState(mitigations[0]?.control ?? "");
  const [justification, setJustification] = useState("");
  const [until, setUntil] = useState("");
  const now = Date.now();
  const accept = useMutation({
    mutationFn: () =>
      unwrap(
        api.POST("/api/sod/violations/{id}/exception", {
          params: { path: { id: v.id } },
          body: {
            ...(control.trim() !== "" ? { control: control.trim() } : {}),
            justification,
            // The whole chosen day, in the approver's time zone; an empty date is the server's to refuse.
            expiresAt: until === "" ? "" : new Date(`${until}T23:59:59`).toISOString(),
          },
        }),
      ),
    onSuccess: async (e: SodException) => {
      await refetch([SOD_KEY]);
      onDone(
        `Accepted until ${new Date(e.expiresAt).toLocaleString()} with the control “${e.control}”: the violation stays listed, excepted, and opens again when the exception ends.`,
      );
    },
  });
  return (
    <ConfirmDialog
      title="Accept this violation with an exception?"
      confirm="Accept with exception"
      busy={accept.isPending}
      error={accept.isError ? refusalText(accept.error) : null}
      onConfirm={() => accept.mutate()}
      onClose={onClose}
    >
      <p>
        {v.holder.name} keeps <strong>{accessLabel(v)}</strong> despite rule <strong>{v.rule}</strong>
        {v.description !== null && ` (${v.description})`} until the date below, under the control you name.
        The exception is recorded with you as its approver; the rule's owner is told when it ends.
      </p>
      {/* A form for the layout and so Enter does nothing: the exception is accepted only by the button. */}
      <form className="ask" aria-label="The exception" onSubmit={(e) => e.preventDefault()}>
        <div>
          <label htmlFor="exception-control">Mitigating control</label>
          <input
            id="exception-control"
            list="exception-mitigations"
            value={control}
            onChange={(e) => setControl(e.target.value)}
            aria-describedby="exception-control-hint"
          />
          <datalist id="exception-mitigations">
            {mitigations.map((m) => (
              <option key={m.control} value={m.control} />
            ))}
          </datalist>
          <p id="exception-control-hint" className="hint">
            {mitigations.length > 0
              ? `The rule's mitigations: ${mitigations.map((m) => `${m.control}${m.owner !== null ? ` (${m.owner})` : ""}`).join("; ")}.`
              : "The rule configures no mitigation: say which control lowers the risk."}
          </p>
        </div>
        <div>
          <label htmlFor="exception-justification">Justification (required)</label>
          <textarea
            id="exception-justification"
            rows={3}
            aria-required="true"
            value={justification}
            onChange={(e) => setJustification(e.target.value)}
            aria-describedby="exception-justification-hint"
          />
          <p id="exception-justification-hint" className="hint">
            Why the conflict is accepted: auditors read this.
          </p>
        </div>
        <div>
          <label htmlFor="exception-until">Expires after (required)</label>
          <input
            id="exception-until"
            type="date"
            required
            min={dateValue(new Date(now + DAY))}
            max={dateValue(new Date(now + 365 * DAY))}
            value={until}
            onChange={(e) => setUntil(e.target.value)}
            aria-describedby="exception-until-hint"
          />
          <p id="exception-until-hint" className="hint">
            The last day the exception holds (to its end, your time); at most a year away. Then the violation
            is open again unless someone accepts it anew.
          </p>
        </div>
      </form>
    </ConfirmDialog>
  );
}

/** Ending an exception before it expires: the violation is open again at once. */
export function RevokeExceptionDialog({
  violation: v,
  exception: e,
  onClose,
  onDone,
}: {
  violation: SodViolation;
  exception: SodException;
  onClose: () => void;
  onDone: (message: string) => void;
}) {
  const refetch = useRefetch();
  const revoke = useMutation({
    mutationFn: () => unwrap(api.POST("/api/sod/exceptions/{id}/revoke", { params: { path: { id: e.id } } })),
    onSuccess: async () => {
      await refetch([SOD_KEY]);
      onDone(`The exception is revoked: ${v.holder.name}'s violation of ${v.rule} is open again.`);
    },
  });
  return (
    <ConfirmDialog
      title="Revoke this exception?"
      confirm="Revoke exception"
      busy={revoke.isPending}
      error={revoke.isError ? refusalText(revoke.error) : null}
      onConfirm={() => revoke.mutate()}
      onClose={onClose}
    >
      <p>
        The exception approved by {e.approver.name} (control: {e.control}) ends now instead of on{" "}
        {new Date(e.expiresAt).toLocaleDateString()}. {v.holder.name} still holds{" "}
        <strong>{accessLabel(v)}</strong>: the violation is open again and its owner is told.
      </p>
    </ConfirmDialog>
  );
}
