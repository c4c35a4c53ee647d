import { appendEvents } from "../audit/ledger.js";
import { ConnectorError, type CredentialRotator } from "../connectors/connector-types.js";
import { type ConnectorSource, generateSecret, rotatorFor } from "../connectors/credential-rotation.js";
import { deliverSecret, reportSecretOutcome } from "../connectors/secret-sink.js";
import {
  type CredentialInForce,
  describeInForce,
  nextStep,
  type RotationState,
  type RotationStep,
  recoveryFor,
} from "../domain/rotation-steps.js";
import { enqueueNotifications } from "../notify/notification-enqueue.js";
import type { NotifyConfig } from "../notify/notify-config.js";
import type { NhiRotationConfig } from "../policy/sections/nhi-rotation-schema.js";
import { TenureError } from "../shared/errors.js";
import { newId } from "../shared/ids.js";
import { redactSecrets } from "../shared/redact.js";
import { type NhiRotationRecord, nhiRotationRepository } from "../store/nhi-rotation-repository.js";
import type { Db } from "../store/schema-types.js";

/**
 * Credential rotation of a non-human identity (issue 17, item 4), as a durable step machine: each step is
 * recorded in `nhi_rotations` as it is done, so a failure (or a crash) shows where it stopped.
 *
 * generate the secret (in memory only) → deliver it to the sink, marked pending → set it in the target →
 * verify it with a real login → where the target holds two, retire the old one → done (`nhi.rotated`).
 *
 * A failure at any step is recorded (`failed_step`, `error`), audited (`nhi.rotation_failed`) and alerted
 * (`nhi.rotation-failed` to the NHI's owner, else `nhi.rotation.alertEmail`), and leaves a working
 * credential: a sink failure touches nothing; a refused set leaves the old credential; a failed verify on
 * a target holding two removes the new value again (old in force), on a target holding one sets the new
 * secret once more and verifies again, and if that fails too says the new secret (in the sink) is in force.
 *
 * The secret appears nowhere but in the sink: not in the database, the audit ledger, a notification, an
 * error or a log.
 */

/** The NHI whose credential is rotated, as the NHI store describes it. */
export interface NhiRotationTarget {
  nhiId: string;
  /** The NHI's name, for messages. */
  name: string;
  /** The system holding the credential (tenure.yaml `systems.<name>`, or a `webhookRotators` key). */
  system: string;
  /** The account whose credential it is. */
  username: string;
  /** The system's id of the account, when known. */
  nativeId?: string | null;
  /** The owner's email address, told when the rotation fails. */
  ownerEmail?: string | null;
}

export interface NhiRotationOptions {
  now: Date;
  /** Who rotates, for the audit: `cli:alice`, `scheduler`. */
  actor: string;
  reason: "scheduled" | "on-demand";
}

/** What the rotation reads of the configuration (TenureConfig's `notify` and the resolved `nhi.rotation`). */
export interface NhiRotationSettings {
  readonly notify?: NotifyConfig | undefined;
  readonly rotation: NhiRotationConfig;
}

export interface NhiRotationDeps {
  db: Db;
  /** The systems' connectors (the engine's connector pool). */
  connectors: ConnectorSource;
}

export interface NhiRotationResult {
  rotationId: string;
  /** When the new credential took over (the rotation's `now`). */
  lastRotatedAt: string;
  /** Whether the sink was told the new secret is active (a failure there does not undo the rotation). */
  sinkConfirmed: boolean;
}

/** Another rotation of the NHI is unfinished: nothing was done. */
export class RotationRunningError extends TenureError {
  readonly rotationId: string;
  constructor(message: string, rotationId: string) {
    super("rotation_running", message, { exitCode: 1, httpStatus: 409 });
    this.rotationId = rotationId;
  }
}

/** A rotation failed at `step`; the message says why and which credential is in force. */
export class RotationFailedError extends TenureError {
  readonly rotationId: string;
  readonly step: RotationStep;
  readonly inForce: CredentialInForce;
  constructor(message: string, rotationId: string, step: RotationStep, inForce: CredentialInForce) {
    super("rotation_failed", message, { exitCode: 1, httpStatus: 502 });
    this.rotationId = rotationId;
    this.step = step;
    this.inForce = inForce;
  }
}

/** A failed step, carried to the one place that records it. */
class StepFailure {
  constructor(
    readonly step: RotationStep,
    readonly cause: string,
    readonly inForce: CredentialInForce,
    readonly abandoned: boolean,
  ) {}
}

/** What an error says, masked of `secret` (connector errors already are; anything else may not be). */
function causeOf(err: unknown, secret: string): string {
  const text = err instanceof Error ? err.message : String(err);
  return redactSecrets(text, [secret]) || "unknown error";
}

const noAnswer = (err: unknown) => err instanceof ConnectorError && err.kind === "unreachable";

/**
 * Rotates the credential of `target` (see the module comment for the steps and what a failure leaves).
 * @returns the rotation's id and when the new credential took over.
 * @throws RotationRunningError when a rotation of the NHI is unfinished (and not yet stale); nothing done.
 * @throws ConnectorError (`invalid`) when the system cannot rotate; nothing done or recorded.
 * @throws RotationFailedError when a step failed: recorded, audited and alerted before it is thrown.
 */
export async function rotateCredential(
  deps: NhiRotationDeps,
  config: NhiRotationSettings,
  target: NhiRotationTarget,
  options: NhiRotationOptions,
): Promise<NhiRotationResult> {
  const { db } = deps;
  const { now, actor, reason } = options;
  const at = now.toISOString();
  const rotator = rotatorFor(target.system, {
    connectors: deps.connectors,
    webhookRotators: config.rotation.webhookRotators,
  });
  const rotationId = newId();
  await begin(db, config, target, options, rotationId);

  const ref = { username: target.username, nativeId: target.nativeId ?? null };
  const secret = generateSecret();
  const sink = config.rotation.sink;
  const record = { rotationId, system: target.system, username: target.username };
  try {
    try {
      await deliverSecret(sink, { ...record, secret, at: now });
    } catch (err) {
      throw failure("deliver", err, rotator, secret);
    }
    await nhiRotationRepository.advance(db, rotationId, "delivered", at);

    try {
      await rotator.setSecret(ref, secret);
    } catch (err) {
      throw failure("set", err, rotator, secret);
    }
    await nhiRotationRepository.advance(db, rotationId, "set", at);

    const verifiedAfterRetry = await verifyOrRecover(rotator, ref, secret);
    await nhiRotationRepository.advance(db, rotationId, "verified", at);

    if (rotator.holdsTwo && rotator.retireOthers !== undefined) {
      try {
        await rotator.retireOthers(ref, secret);
      } catch (err) {
        throw failure("retire", err, rotator, secret);
      }
      await nhiRotationRepository.advance(db, rotationId, "retired", at);
    }

    const sinkConfirmed = await reportSecretOutcome(sink, { ...record, state: "active", at: now }).then(
      () => true,
      () => false,
    );
    await db.transaction().execute(async (trx) => {
      await nhiRotationRepository.finish(trx, rotationId, at);
      await appendEvents(trx, [
        {
          time: at,
          actor,
          action: "nhi.rotated",
          subject: target.nhiId,
          details: {
            rotationId,
            system: target.system,
            username: target.username,
            reason,
            retired: rotator.holdsTwo,
            verifiedAfterRetry,
            sinkConfirmed,
          },
        },
      ]);
    });
    return { rotationId, lastRotatedAt: at, sinkConfirmed };
  } catch (err) {
    if (!(err instanceof StepFailure)) {
      // A failure of Tenure itself (the store) between steps: recorded as a failure of the step in progress
      // as far as the store still allows; the credential is whichever the last recorded state says.
      const state = (await nhiRotationRepository.get(db, rotationId).catch(() => undefined))?.state;
      const step = stepAfterState(state ?? "started");
      await recordFailure(
        db,
        config,
        target,
        options,
        rotationId,
        new StepFailure(step, causeOf(err, secret), "old-or-new", false),
      ).catch(() => {});
      throw err;
    }
    if (err.abandoned) {
      await reportSecretOutcome(sink, { ...record, state: "abandoned", at: now }).catch(() => {});
    }
    const message = await recordFailure(db, config, target, options, rotationId, err);
    throw new RotationFailedError(message, rotationId, err.step, err.inForce);
  }
}

/** A failed step, with what is in force after it (no undo needed for these steps). */
function failure(step: RotationStep, err: unknown, rotator: CredentialRotator, secret: string): StepFailure {
  const { inForce } = recoveryFor(step, rotator.holdsTwo, noAnswer(err));
  // The secret in the sink is of no use when the old credential alone is in force.
  return new StepFailure(step, causeOf(err, secret), inForce, inForce === "old");
}

/**
 * Verifies the new secret; on failure, recovers as `recoveryFor` says and throws the StepFailure.
 * @returns whether it was verified only after setting it a second time.
 */
async function verifyOrRecover(
  rotator: CredentialRotator,
  ref: { username: string; nativeId: string | null },
  secret: string,
): Promise<boolean> {
  try {
    await rotator.verify(ref, secret);
    return false;
  } catch (first) {
    const cause = causeOf(first, secret);
    const { undo, inForce } = recoveryFor("verify", rotator.holdsTwo, noAnswer(first));
    if (undo === "remove-new") {
      try {
        if (rotator.removeSecret === undefined) throw new Error("the connector cannot remove a value");
        await rotator.removeSecret(ref, secret);
      } catch (removal) {
        // Both are held; the new one did not log in, so the old one is what works.
        throw new StepFailure(
          "verify",
          `${cause}; removing the new value failed too (${causeOf(removal, secret)})`,
          "old",
          false,
        );
      }
      throw new StepFailure("verify", cause, inForce, true);
    }
    // One credential, already replaced: set the new one once more, then verify again.
    try {
      await rotator.setSecret(ref, secret);
      await rotator.verify(ref, secret);
      return true;
    } catch (retry) {
      throw new StepFailure(
        "verify",
        `${cause}; setting it again and verifying once more failed too (${causeOf(retry, secret)})`,
        inForce,
        false,
      );
    }
  }
}

/**
 * Records the rotation as started, or refuses: an unfinished rotation of the NHI blocks a second one,
 * unless it has not moved for `staleAfterMinutes` (its process stopped), in which case it is recorded
 * failed (audited and alerted) and this one goes ahead.
 */
async function begin(
  db: Db,
  config: NhiRotationSettings,
  target: NhiRotationTarget,
  options: NhiRotationOptions,
  rotationId: string,
): Promise<void> {
  const at = options.now.toISOString();
  const row = {
    id: rotationId,
    nhiId: target.nhiId,
    system: target.system,
    username: target.username,
    actor: options.actor,
    reason: options.reason,
  };
  for (let attempt = 0; attempt < 2; attempt++) {
    if (await nhiRotationRepository.start(db, row, at)) return;
    const running = await nhiRotationRepository.running(db, target.nhiId);
    if (running === undefined) continue; // it finished meanwhile
    const staleBefore = options.now.getTime() - config.rotation.staleAfterMinutes * 60_000;
    if (attempt > 0 || Date.parse(running.updatedAt) > staleBefore) {
      throw new RotationRunningError(
        `a rotation of ${target.name} (${running.id}, started ${running.startedAt} by ${running.actor}) is still running; try again when it has finished`,
        running.id,
      );
    }
    await recordFailure(db, config, target, options, running.id, interrupted(running));
  }
  throw new RotationRunningError(`a rotation of ${target.name} is still running`, "");
}

/** The step that was under way when a rotation stopped in `state`. */
function stepAfterState(state: RotationState): RotationStep {
  const step = nextStep(state, true);
  return step === "finish" ? "retire" : step;
}

/** The failure of a rotation whose process stopped after recording `state`. */
function interrupted(running: NhiRotationRecord): StepFailure {
  const step = stepAfterState(running.state);
  const inForce: CredentialInForce =
    running.state === "started" ? "old" : running.state === "verified" ? "both" : "old-or-new";
  return new StepFailure(
    step,
    `interrupted: no progress since ${running.updatedAt} (the process stopped after the ${running.state} state)`,
    inForce,
    false,
  );
}

/**
 * Records a failed rotation, its `nhi.rotation_failed` event and its alert in one transaction.
 * @returns the message for people: the step, the cause, and which credential is in force.
 */
async function recordFailure(
  db: Db,
  config: NhiRotationSettings,
  target: NhiRotationTarget,
  options: NhiRotationOptions,
  rotationId: string,
  failed: StepFailure,
): Promise<string> {
  const at = options.now.toISOString();
  const inForce = describeInForce(failed.inForce, rotationId);
  const error = `${failed.step} failed: ${failed.cause}; ${inForce}`;
  const message = `credential rotation ${rotationId} of ${target.name} (${target.username} in ${target.system}) ${error}`;
  await db.transaction().execute(async (trx) => {
    if (!(await nhiRotationRepository.fail(trx, rotationId, failed.step, error, at))) return;
    await appendEvents(trx, [
      {
        time: at,
        actor: options.actor,
        action: "nhi.rotation_failed",
        subject: target.nhiId,
        details: {
          rotationId,
          system: target.system,
          username: target.username,
          reason: options.reason,
          step: failed.step,
          error: failed.cause,
          inForce: failed.inForce,
        },
      },
    ]);
    await enqueueNotifications(
      trx,
      {
        name: "nhi.rotation-failed",
        data: {
          rotationId,
          nhiId: target.nhiId,
          name: target.name,
          system: target.system,
          username: target.username,
          to: target.ownerEmail ?? config.rotation.alertEmail,
          step: failed.step,
          error: failed.cause,
          inForce,
          reason: options.reason,
        },
      },
      config,
      options.now,
    );
  });
  return message;
}
