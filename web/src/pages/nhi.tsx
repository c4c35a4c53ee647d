import { useMutation, useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { api, type Schemas, unwrap } from "../api/client.js";
import { ConfirmDialog } from "../components/confirm-dialog.js";
import { QueryView } from "../components/query-view.js";
import { useRefetch } from "../components/refetch.js";
import { refusalText } from "../components/refusal.js";
import { PageTitle, TableRegion } from "../components/states.js";
import { useUrlParams } from "../components/url-params.js";
import { useSession } from "../session.js";

const SEVERITY_ORDER = { high: 0, medium: 1, low: 2 } as const;

type Nhi = Schemas["NonHumanIdentity"];
/** What a row's button opened: rotate, confirm ownership, or assign an owner, of one NHI. */
type Acting = { kind: "rotate" | "confirm" | "assign"; nhi: Nhi } | null;

/**
 * Non-human identities (docs/nhi.md): service accounts, API keys, OAuth apps, certificates and agents,
 * each with its owner, credential dates and the findings against nhi.policy — those with a finding first,
 * riskiest first. `?findings=only` keeps just those. Buttons by permission: Confirm ownership for the
 * person ownership is passing to (nhi:confirm), Rotate and Assign owner for those who manage NHIs
 * (nhi:manage); the server decides, and its refusal is shown in the dialog. A person without nhi:read (a
 * requester) sees only the NHIs they own, co-own or must confirm (GET /api/me/nhi), and confirms there. A
 * disabled NHI shows what became of its account: held disabled, or a credential Tenure cannot switch off.
 */
export default function NonHumanIdentities() {
  const { value, filter } = useUrlParams();
  const { session, can } = useSession();
  const refetch = useRefetch();
  const only = value("findings") === "only";
  const everyone = can("nhi:read");
  const nhis = useQuery({
    queryKey: ["nhi", everyone ? "all" : "mine"],
    queryFn: () => unwrap(everyone ? api.GET("/api/nhi") : api.GET("/api/me/nhi")),
  });
  const [acting, setActing] = useState<Acting>(null);
  const [done, setDone] = useState<string | null>(null);
  const [owner, setOwner] = useState("");
  const [coOwners, setCoOwners] = useState("");
  const act = useMutation({
    mutationFn: async (a: NonNullable<Acting>): Promise<string> => {
      const path = { name: a.nhi.name };
      switch (a.kind) {
        case "rotate": {
          const r = await unwrap(api.POST("/api/nhi/{name}/rotate", { params: { path } }));
          return `${r.name} rotated (rotation ${r.rotationId}): the new secret is in the sink.`;
        }
        case "confirm": {
          const r = await unwrap(api.POST("/api/nhi/{name}/confirm", { params: { path } }));
          return `You now own ${r.nhi}.`;
        }
        case "assign": {
          const body = {
            owner: owner.trim(),
            coOwners: coOwners
              .split(",")
              .map((c) => c.trim())
              .filter((c) => c !== ""),
          };
          const r = await unwrap(api.POST("/api/nhi/{name}/owner", { params: { path }, body }));
          return r.changed
            ? `${r.owner} now owns ${r.name}.`
            : `${r.owner} already owns ${r.name}: nothing changed.`;
        }
      }
    },
    onSuccess: async (message) => {
      await refetch(["nhi"]);
      setActing(null);
      setDone(message);
    },
  });
  const open = (kind: NonNullable<Acting>["kind"], nhi: Nhi) => {
    act.reset();
    setDone(null);
    setOwner(kind === "assign" ? (nhi.owner ?? "") : "");
    setCoOwners(kind === "assign" ? nhi.coOwners.join(", ") : "");
    setActing({ kind, nhi });
  };
  const me = session.identity?.id ?? null;
  const manage = can("nhi:manage");
  const confirmable = (n: Nhi) => can("nhi:confirm") && me !== null && n.pendingOwnerId === me;
  const live = (n: Nhi) => n.status !== "removed";
  return (
    <>
      <PageTitle>{everyone ? "Non-human identities" : "Your non-human identities"}</PageTitle>
      {!everyone && (
        <p>The service accounts, keys and apps you own, co-own, or are asked to take ownership of.</p>
      )}
      <div className="filters">
        <label>
          <input
            type="checkbox"
            checked={only}
            onChange={(e) => filter({ findings: e.target.checked ? "only" : "" })}
          />{" "}
          Only those with a finding
        </label>
      </div>
      <div role="status" aria-live="polite">
        {done}
      </div>
      <QueryView
        query={nhis}
        what="non-human identities"
        isEmpty={(d) => d.nhis.length === 0}
        empty={
          everyone
            ? "No non-human identity: declare them under nhi.inventory in tenure.yaml, or discover them with nhi.discover."
            : "You own no non-human identity, and none is passing to you."
        }
      >
        {(d) => {
          const worst = (n: (typeof d.nhis)[number]) =>
            Math.min(
              3,
              ...n.findings.map((f) => SEVERITY_ORDER[f.severity as keyof typeof SEVERITY_ORDER] ?? 3),
            );
          const shown = d.nhis
            .filter((n) => !only || n.findings.length > 0)
            .sort((a, b) => worst(a) - worst(b) || a.name.localeCompare(b.name));
          return (
            <>
              <p>
                {d.nhis.length} non-human identities, {d.nhis.filter((n) => n.findings.length > 0).length}{" "}
                with a finding.
              </p>
              <TableRegion label="Non-human identities">
                <table>
                  <thead>
                    <tr>
                      <th scope="col">Name</th>
                      <th scope="col">Type</th>
                      <th scope="col">System</th>
                      <th scope="col">Owner</th>
                      <th scope="col">Status</th>
                      <th scope="col">Last rotated</th>
                      <th scope="col">Expires</th>
                      <th scope="col">Last used</th>
                      <th scope="col">Findings</th>
                      <th scope="col">Actions</th>
                    </tr>
                  </thead>
                  <tbody>
                    {shown.map((n) => (
                      <tr key={n.id}>
                        <th scope="row">
                          {n.name}
                          {n.purpose !== null && <div className="muted">{n.purpose}</div>}
                        </th>
                        <td>{n.type.replaceAll("_", " ")}</td>
                        <td>{n.system ?? "—"}</td>
                        <td>
                          {n.owner ?? (n.ownerKey === null ? "none" : `${n.ownerKey} (unknown)`)}
                          {n.ownerAssignment !== null && (
                            <div className="muted">
                              assigned {n.ownerAssignment.at.slice(0, 10)}
                              {n.ownerKey !== n.owner && ` (inventory: ${n.ownerKey ?? "none"})`}
                            </div>
                          )}
                          {n.pendingOwner !== null && (
                            <div className="muted">
                              passing to {n.pendingOwner}
                              {n.pendingDeadline === null ? "" : ` by ${n.pendingDeadline.slice(0, 10)}`}
                            </div>
                          )}
                        </td>
                        <td>
                          {n.status}
                          {n.accountHold !== null && (
                            <div className={n.accountHold.state === "unenforced" ? "bad-text" : "muted"}>
                              {n.accountHold.state === "unenforced"
                                ? "credential not disabled"
                                : `account ${n.accountHold.username ?? ""} held disabled`}
                            </div>
                          )}
                        </td>
                        <td>{n.lastRotatedAt?.slice(0, 10) ?? n.createdOn ?? "—"}</td>
                        <td>{n.expiresAt?.slice(0, 10) ?? "—"}</td>
                        <td>{n.lastUsedAt?.slice(0, 10) ?? "unknown"}</td>
                        <td>
                          {n.findings.length === 0 ? (
                            <span className="ok">none</span>
                          ) : (
                            <ul className="findings">
                              {n.findings.map((f) => (
                                <li key={f.code} className={f.severity === "high" ? "bad-text" : undefined}>
                                  {f.severity}: {f.message}
                                </li>
                              ))}
                            </ul>
                          )}
                        </td>
                        <td>
                          <div className="actions">
                            {live(n) && confirmable(n) && (
                              <button
                                type="button"
                                className="primary"
                                aria-label={`Confirm ownership of ${n.name}`}
                                onClick={() => open("confirm", n)}
                              >
                                Confirm ownership
                              </button>
                            )}
                            {live(n) && manage && n.system !== null && n.status !== "disabled" && (
                              <button
                                type="button"
                                aria-label={`Rotate ${n.name}`}
                                onClick={() => open("rotate", n)}
                              >
                                Rotate
                              </button>
                            )}
                            {live(n) && manage && (
                              <button
                                type="button"
                                aria-label={`Assign an owner to ${n.name}`}
                                onClick={() => open("assign", n)}
                              >
                                Assign owner
                              </button>
                            )}
                          </div>
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </TableRegion>
            </>
          );
        }}
      </QueryView>
      {acting !== null && (
        <ConfirmDialog
          title={
            acting.kind === "rotate"
              ? `Rotate the credential of ${acting.nhi.name}?`
              : acting.kind === "confirm"
                ? `Take ownership of ${acting.nhi.name}?`
                : `Assign an owner to ${acting.nhi.name}`
          }
          confirm={
            acting.kind === "rotate"
              ? "Rotate now"
              : acting.kind === "confirm"
                ? "Confirm ownership"
                : "Assign owner"
          }
          busy={act.isPending}
          error={act.error === null ? null : refusalText(act.error)}
          onConfirm={() => act.mutate(acting)}
          onClose={() => setActing(null)}
        >
          {acting.kind === "rotate" && (
            <p>
              A new secret is generated, delivered to the sink, set in {acting.nhi.system} and verified with a
              real login before the old one is retired. A failure leaves a working credential and alerts the
              owner.
            </p>
          )}
          {acting.kind === "confirm" && (
            <p>
              Ownership passes to you from {acting.nhi.owner ?? "nobody"}: you will review its access and be
              told when its credential expires or fails to rotate.
            </p>
          )}
          {acting.kind === "assign" && (
            <>
              <p>
                The owner must be an active person. A pending succession is cleared. The assignment holds
                until the inventory's owner of this NHI changes
                {acting.nhi.ownerKey === null ? "" : ` (it names ${acting.nhi.ownerKey})`}.
              </p>
              {/* A form for the layout; the owner is assigned only by the dialog's button. */}
              <form className="ask" aria-label="The new owner" onSubmit={(e) => e.preventDefault()}>
                <div>
                  <label htmlFor="nhi-owner">Owner (HR key, email or id)</label>
                  <input id="nhi-owner" required value={owner} onChange={(e) => setOwner(e.target.value)} />
                </div>
                <div>
                  <label htmlFor="nhi-co-owners">Co-owners (comma-separated, optional)</label>
                  <input id="nhi-co-owners" value={coOwners} onChange={(e) => setCoOwners(e.target.value)} />
                </div>
              </form>
            </>
          )}
        </ConfirmDialog>
      )}
    </>
  );
}
