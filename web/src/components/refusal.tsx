import { ApiError } from "../api/client.js";

/** What the server said when it refused, as one line (a dialog's error): its message, then where. */
export function refusalText(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const where =
    error instanceof ApiError && error.details.length > 0
      ? ` (${error.details.map((d) => `${d.path}: ${d.message}`).join("; ")})`
      : "";
  return `${error.message}${where}`;
}

/**
 * A refusal of something the person asked to do, in the server's words: the console checks nothing the
 * server checks, so this is where "over the maximum", "not eligible" or "already pending" is said.
 */
export function Refusal({ error }: { error: unknown }) {
  return (
    <p className="error" role="alert">
      {refusalText(error)}
    </p>
  );
}
