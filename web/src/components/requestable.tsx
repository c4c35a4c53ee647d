import { useQuery } from "@tanstack/react-query";
import { api, unwrap } from "../api/client.js";
import { duration } from "./request-parts.js";

/** One thing the signed-in person may ask for, as GET /api/requestable describes it. */
export type Requestable = Awaited<ReturnType<typeof readRequestable>>["items"][number];

function readRequestable() {
  return unwrap(api.GET("/api/requestable"));
}

/** What can be requested and elevated to, read once a minute at most (it changes with the configuration). */
export function useRequestable() {
  return useQuery({ queryKey: ["requestable"], queryFn: readRequestable, staleTime: 60_000 });
}

/**
 * What the policy says of an item, beside the form that asks for it: what it changes in which system,
 * the default and the longest duration, who approves, when policy approves at once, and whether the
 * person is eligible.
 */
export function RequestablePolicy({ item, id }: { item: Requestable; id: string }) {
  return (
    <dl className="attributes policy" id={id}>
      {item.displayName !== null && (
        <div>
          <dt>What it is</dt>
          <dd>{item.displayName}</dd>
        </div>
      )}
      <div>
        <dt>What changes</dt>
        <dd data-testid="grants">
          {item.grants.length === 0
            ? "nothing in any system"
            : item.grants
                .map((g) =>
                  g.entitlements.length === 0
                    ? `an account in ${g.system}`
                    : `${g.system}: ${g.entitlements.join(", ")}`,
                )
                .join("; ")}
        </dd>
      </div>
      <div>
        <dt>Default duration</dt>
        <dd>{duration(item.defaultDurationMs)}</dd>
      </div>
      <div>
        <dt>Maximum duration</dt>
        <dd data-testid="max-duration">{duration(item.maxDurationMs)}</dd>
      </div>
      <div>
        <dt>Approval</dt>
        <dd>{item.approval.length === 0 ? "none" : item.approval.join(", then ")}</dd>
      </div>
      <div>
        <dt>Approved at once</dt>
        <dd>
          {item.autoApproveWhen === null ? (
            "never"
          ) : (
            <>
              when <code>{item.autoApproveWhen}</code>
              {item.autoApproveQuota !== null &&
                `, at most ${item.autoApproveQuota.max} times per ${duration(item.autoApproveQuota.periodMs)}`}
            </>
          )}
        </dd>
      </div>
      <div>
        <dt>You are eligible</dt>
        <dd>{item.eligible === null ? "—" : item.eligible ? "yes" : "no: the server will refuse it"}</dd>
      </div>
    </dl>
  );
}

/** Said instead of a form when the session stands for no person: asking and deciding are a person's. */
export function ActsForNobody() {
  return (
    <p className="notice">
      This session acts for nobody, so it cannot ask for access or decide. Sign in as a person: single
      sign-on, or a token made with <code>tenure token create --identity</code>.
    </p>
  );
}
