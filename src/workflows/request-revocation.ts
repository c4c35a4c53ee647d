import { appendEvents } from "../audit/ledger.js";
import type { TenureConfig } from "../policy/config-types.js";
import { NotFoundError, TenureError } from "../shared/errors.js";
import { accessRequestRepository } from "../store/access-request-repository.js";
import { assignmentRepository } from "../store/assignment-repository.js";
import type { Store } from "../store/database.js";
import { accessChanged } from "./access-clock.js";
import { type EndedAssignments, endDueAssignments } from "./assignment-ends.js";

/**
 * Ends the access a request granted before its window is over: by its holder, by an approver of the
 * request, or by an admin (`asAdmin`). Each open assignment of the request is revoked now (audited
 * `assignment.revoked`), then ended like an expiry — provisioned and read back, with its receipt.
 * @throws NotFoundError; TenureError `not_yours` (403) for anyone else; `nothing_to_revoke` (409).
 */
export async function revokeRequestAccess(
  store: Store,
  config: TenureConfig,
  requestId: string,
  options: { by: string | null; asAdmin: boolean; now: Date; actor: string; reason?: string },
): Promise<EndedAssignments> {
  const request = await accessRequestRepository.find(store.db, requestId);
  if (request === undefined) throw new NotFoundError(`no access request has the id "${requestId}"`);
  const approvers = new Set(
    request.decisions.filter((d) => d.verdict === "approve").map((d) => d.onBehalfOf ?? d.by),
  );
  const allowed =
    options.asAdmin ||
    (options.by !== null && (options.by === request.beneficiaryId || approvers.has(options.by)));
  if (!allowed) {
    throw new TenureError(
      "not_yours",
      `only the holder, an approver of request ${requestId} or an admin may end its access; nothing was changed`,
      { httpStatus: 403 },
    );
  }
  const at = options.now.toISOString();
  const open = await assignmentRepository.openOfRequest(store.db, requestId, at);
  if (open.length === 0) {
    throw new TenureError(
      "nothing_to_revoke",
      `request ${requestId} holds no access that is still open; nothing was changed`,
      {
        httpStatus: 409,
      },
    );
  }
  await store.db.transaction().execute(async (trx) => {
    for (const a of open) {
      if (!(await assignmentRepository.revoke(trx, a.id, at))) continue;
      await appendEvents(trx, [
        {
          time: at,
          actor: options.actor,
          action: "assignment.revoked",
          subject: `identity:${a.identityId}`,
          details: {
            assignment: a.id,
            target: a.target,
            request: requestId,
            by: options.by,
            asAdmin: options.asAdmin,
            reason: options.reason ?? null,
          },
        },
      ]);
    }
  });
  const ended = await endDueAssignments(store, config, { now: options.now, actor: options.actor });
  accessChanged();
  return ended;
}
