import { appendEvents } from "../audit/ledger.js";
import { credentialSince, instantOf } from "../domain/nhi-findings.js";
import type { NonHumanIdentity } from "../domain/nhi-types.js";
import { type ConnectorPool, connectorPool } from "../engine/connector-pool.js";
import type { TenureConfig } from "../policy/config-types.js";
import { InvalidInputError, NotFoundError } from "../shared/errors.js";
import { identityRepository } from "../store/identity-repository.js";
import { nhiRepository } from "../store/nhi-repository.js";
import type { Store } from "../store/store-types.js";
import { RotationRunningError, rotateCredential } from "./nhi-rotation.js";

/**
 * Rotating an NHI's credential from the inventory: `tenure nhi rotate NAME` and the scheduled rotation of
 * every NHI whose credential is past `nhi.policy.maxCredentialAge`. The rotation itself (deliver, set,
 * verify with a real login, retire) is nhi-rotation.ts; this finds the account, tells its owner of a
 * failure, and records the new date on the NHI so its age starts again.
 */

export interface NhiRotateOutcome {
  name: string;
  rotationId: string;
  lastRotatedAt: string;
}

/** The account an NHI's credential lives in: the discovered account, else the account named like the NHI. */
function accountOf(nhi: NonHumanIdentity): { system: string; username: string } {
  if (nhi.system === null)
    throw new InvalidInputError(
      `NHI ${nhi.name} names no system: its credential cannot be rotated by Tenure`,
    );
  return { system: nhi.system, username: nhi.account ?? nhi.name };
}

export async function rotateNhi(
  store: Store,
  config: TenureConfig,
  name: string,
  options: {
    now: Date;
    actor: string;
    reason: "scheduled" | "on-demand";
    /** Connectors to use, the caller's to close (a run over many NHIs shares one per system); else made here. */
    connectors?: ConnectorPool;
  },
): Promise<NhiRotateOutcome> {
  const rotation = config.nhi?.rotation;
  if (rotation === undefined)
    throw new InvalidInputError(
      "nhi.rotation is not configured: say where new secrets go (docs/nhi.md#rotation)",
    );
  const nhi = await nhiRepository.findByName(store.db, name);
  if (nhi === undefined || nhi.removedAt !== null) throw new NotFoundError(`no NHI is called "${name}"`);
  if (nhi.disabledAt !== null)
    throw new InvalidInputError(`NHI ${name} is disabled: ${nhi.disabledReason ?? ""}`.trim());
  const { system, username } = accountOf(nhi);
  const owner = nhi.ownerId === null ? undefined : await identityRepository.findById(store.db, nhi.ownerId);
  const connectors = options.connectors ?? connectorPool(config);
  try {
    const done = await rotateCredential(
      { db: store.db, connectors },
      { ...(config.notify === undefined ? {} : { notify: config.notify }), rotation },
      {
        nhiId: nhi.id,
        name: nhi.name,
        system,
        username,
        ...(owner?.attributes.email ? { ownerEmail: owner.attributes.email } : {}),
      },
      options,
    );
    // The NHI's age starts again. A concurrent writer (inventory sync, succession) may move the row on
    // between the read and the write: read again and retry, the date is ours to set either way.
    for (let attempt = 0; attempt < 5; attempt++) {
      const fresh = await nhiRepository.findById(store.db, nhi.id);
      if (fresh === undefined) break;
      const written = await store.db.transaction().execute(async (trx) => {
        const next = {
          ...fresh,
          lastRotatedAt: done.lastRotatedAt,
          updatedAt: done.lastRotatedAt,
          version: fresh.version + 1,
        };
        if (!(await nhiRepository.update(trx, next))) return false;
        await appendEvents(trx, [
          {
            time: options.now.toISOString(),
            actor: options.actor,
            action: "nhi.updated",
            subject: nhi.id,
            details: { name: nhi.name, lastRotatedAt: done.lastRotatedAt, rotation: done.rotationId },
          },
        ]);
        return true;
      });
      if (written) break;
    }
    return { name: nhi.name, rotationId: done.rotationId, lastRotatedAt: done.lastRotatedAt };
  } finally {
    if (options.connectors === undefined) await connectors.closeAll();
  }
}

/** NHIs due for rotation at `now`: live, with a system, and a credential past its type's maximum age. */
export async function nhisDueForRotation(
  store: Store,
  config: TenureConfig,
  now: Date,
): Promise<NonHumanIdentity[]> {
  const policy = config.nhi?.policy;
  if (policy === undefined) return [];
  return (await nhiRepository.list(store.db, { live: true })).filter((n) => {
    const max = policy.maxCredentialAgeMs[n.type];
    const since = credentialSince(n);
    return (
      n.system !== null &&
      n.disabledAt === null &&
      max !== undefined &&
      since !== null &&
      now.getTime() - instantOf(since) > max
    );
  });
}

/**
 * Rotates every NHI due, one at a time; one that fails (alerted by the rotation) or is running does not stop
 * the rest. One connector per system serves the whole run: a connector made per NHI (its client, its
 * connection) cost a third of each rotation (docs/performance.md, non-human identities).
 */
export async function rotateDueNhis(
  store: Store,
  config: TenureConfig,
  options: { now: Date; actor: string },
): Promise<{ rotated: string[]; failed: string[]; skipped: string[] }> {
  const out = { rotated: [] as string[], failed: [] as string[], skipped: [] as string[] };
  const due = await nhisDueForRotation(store, config, options.now);
  if (due.length === 0) return out;
  const connectors = connectorPool(config);
  try {
    for (const nhi of due) {
      try {
        await rotateNhi(store, config, nhi.name, { ...options, reason: "scheduled", connectors });
        out.rotated.push(nhi.name);
      } catch (err) {
        if (err instanceof RotationRunningError) out.skipped.push(nhi.name);
        else out.failed.push(nhi.name);
      }
    }
  } finally {
    await connectors.closeAll();
  }
  return out;
}
