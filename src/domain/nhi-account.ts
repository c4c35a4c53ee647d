import type { Lineage, PlannedOperation } from "./access-types.js";
import type { NonHumanIdentity } from "./nhi-types.js";
import { idempotencyKey } from "./plan.js";

/**
 * A disabled non-human identity's credential, switched off in its target (issue 17, item 3: "disabled by
 * policy" means the credential stops working, not only a mark in Tenure's store). Pure: the workflow
 * (workflows/nhi-disable.ts) gathers the facts, calls {@link nhiAccountStep}, records the hold, and queues
 * the operation through the engine like any other.
 *
 * The account of an NHI is the one its rotation uses: `account` (the username it was discovered as) in
 * `system`, else the account named like the NHI there. While the NHI is disabled Tenure **holds** that
 * account disabled (one hold per NHI); when the NHI is enabled again (an owner assigned, or named anew in
 * the inventory) the hold is released and the account enabled again — only where Tenure disabled it, and
 * only for an account that belongs to no identity (an account correlated to the NHI's identity follows the
 * plan, which keeps it disabled while that identity is suspended).
 */

/** What Tenure did about a disabled NHI's account (a `nhi_account_holds` row). */
export interface NhiAccountHold {
  nhiId: string;
  /** The account's system and username; null when the NHI names no system. */
  system: string | null;
  username: string | null;
  /**
   * `held`: a disable was queued, or the account was disabled already; `unenforced`: Tenure cannot switch
   * the credential off ({@link NhiAccountHold.why} says why) — a finding for a person, not silence.
   */
  state: "held" | "unenforced";
  /** Why the account could not be disabled (`unenforced`), or a caveat of the disable (it only flags). */
  why: string | null;
  /** Whether the account was enabled when held: null when Tenure had no record of it. */
  wasEnabled: boolean | null;
  /** When the hold began (ISO-8601). */
  heldAt: string;
  /** The NHI's disabled reason at the time. */
  reason: string;
}

/** The NHI's account as the store records it (a reconciled or applied `accounts` row). */
export interface NhiAccountRecord {
  nativeId: string | null;
  identityId: string | null;
  enabled: boolean;
  /** Gone from the system (reconcile no longer finds it). */
  gone: boolean;
}

/** The NHI's system as tenure.yaml and its connector describe it; null when it is not configured. */
export interface NhiSystemFacts {
  orphans: "report" | "disable";
  /** The connector type (`manual` turns a disable into a task for a person). */
  connector: string;
  /** Whether the connector's disable makes the target refuse logins and binds (not only a flag). */
  disableRefusesUse: boolean;
}

export interface NhiAccountFacts {
  nhi: Pick<
    NonHumanIdentity,
    "id" | "name" | "system" | "account" | "disabledAt" | "disabledReason" | "removedAt"
  >;
  system: NhiSystemFacts | null;
  account: NhiAccountRecord | null;
  hold: NhiAccountHold | null;
}

export type NhiAccountStep =
  | { kind: "none" }
  /** Hold the account and queue its disable; `caveat` when the connector's disable only flags it. */
  | { kind: "disable"; hold: NhiAccountHold; operation: PlannedOperation; caveat: string | null }
  /** Hold an account that is disabled already: nothing to queue (and nothing to enable later). */
  | { kind: "held"; hold: NhiAccountHold }
  /** Tenure cannot disable it: recorded once, as a finding. */
  | { kind: "unenforced"; hold: NhiAccountHold }
  /** Held, the NHI still disabled, and the account found enabled again (outside Tenure): disable again. */
  | { kind: "redisable"; operation: PlannedOperation }
  /** The NHI is enabled again: release the hold and enable the account Tenure disabled. */
  | { kind: "enable"; operation: PlannedOperation }
  /** The NHI is enabled again, but enabling the account is not Tenure's to do here: release only. */
  | { kind: "release"; why: string };

/** The account an NHI's credential lives in: its discovered account, else the one named like it. */
export function nhiAccountRef(
  nhi: Pick<NonHumanIdentity, "name" | "system" | "account">,
): { system: string; username: string } | null {
  return nhi.system === null ? null : { system: nhi.system, username: nhi.account ?? nhi.name };
}

/** Why an NHI's account is (or was) held disabled, as the plan, explain and the audit show it. */
export function nhiAccountLineage(
  nhi: Pick<NonHumanIdentity, "name">,
  reason: string,
  since: string,
): Lineage {
  return {
    kind: "lifecycle",
    policy: "nhi.policy.onOwnerLeave",
    note: `NHI ${nhi.name} disabled on ${since.slice(0, 10)}: ${reason}`,
  };
}

function accountOperation(
  kind: "disable" | "enable",
  nhi: NhiAccountFacts["nhi"],
  ref: { system: string; username: string },
  nativeId: string | null,
  lineage: Lineage,
  reason: string,
): PlannedOperation {
  const op: PlannedOperation = {
    system: ref.system,
    kind,
    // Filed under the NHI's identity (its timeline shows it); the account row itself stays uncorrelated.
    identityId: nhi.id,
    username: ref.username,
    nativeId,
    entitlement: null,
    attributes: null,
    enabled: null,
    lineage: [lineage],
    reason,
    idempotencyKey: "",
    drift: false,
  };
  // The same key as the plan's disable (or enable) of this account: the two never queue it twice.
  op.idempotencyKey = idempotencyKey(op);
  return op;
}

/**
 * What to do about one NHI's account now. Pure and total: every combination of facts gives one step.
 *
 * - NHI disabled, no hold: hold it — queue a disable (the account enabled, or not recorded: the connector
 *   is the authority), or just hold it (disabled already); `unenforced` when the NHI names no system, its
 *   system is not configured, the account vanished, or the account belongs to another identity.
 * - NHI disabled, held, the account recorded enabled again: disable again (`redisable`).
 * - NHI enabled again (and live), held: `enable` the account where Tenure disabled it (it was enabled,
 *   or unknown), it belongs to nobody, and its system does not disable orphans; else `release` only.
 * - Anything else: `none`.
 */
export function nhiAccountStep(facts: NhiAccountFacts, now: Date): NhiAccountStep {
  const { nhi, system, account, hold } = facts;
  const ref = nhiAccountRef(nhi);
  const disabled = nhi.disabledAt !== null;
  const mine = account === null || account.identityId === null || account.identityId === nhi.id;

  if (disabled && hold === null) {
    const at = now.toISOString();
    const reason = nhi.disabledReason ?? "disabled";
    const base = {
      nhiId: nhi.id,
      system: ref?.system ?? null,
      username: ref?.username ?? null,
      heldAt: at,
      reason,
      wasEnabled: account?.enabled ?? null,
    };
    const unenforced = (why: string): NhiAccountStep => ({
      kind: "unenforced",
      hold: { ...base, state: "unenforced", why },
    });
    if (ref === null)
      return unenforced(
        "it names no system: Tenure knows no account to disable; switch the credential off where it lives",
      );
    if (system === null)
      return unenforced(
        `${ref.system} is not a configured system: Tenure cannot disable ${ref.username} there; switch the credential off by hand`,
      );
    if (!mine)
      return unenforced(
        `the account ${ref.username} in ${ref.system} belongs to another identity (${account?.identityId}): not disabled; check which account the NHI uses`,
      );
    if (account?.gone === true)
      return unenforced(
        `the account ${ref.username} is no longer found in ${ref.system}: nothing to disable`,
      );
    if (account !== null && !account.enabled)
      return { kind: "held", hold: { ...base, state: "held", why: null } };
    const caveat =
      system.connector === "manual" || system.disableRefusesUse
        ? null
        : `the ${system.connector} connector's disable only marks the account in ${ref.system}: the credential may still work; rotate or remove it`;
    const lineage = nhiAccountLineage(nhi, reason, nhi.disabledAt ?? at);
    return {
      kind: "disable",
      hold: { ...base, state: "held", why: caveat },
      caveat,
      operation: accountOperation(
        "disable",
        nhi,
        ref,
        account?.nativeId ?? null,
        lineage,
        `Disable the account of NHI ${nhi.name} in ${ref.system}: ${reason}.`,
      ),
    };
  }

  if (disabled && hold !== null) {
    if (hold.state !== "held" || ref === null || system === null || account === null) return { kind: "none" };
    if (!account.enabled || account.gone || !mine) return { kind: "none" };
    return {
      kind: "redisable",
      operation: accountOperation(
        "disable",
        nhi,
        ref,
        account.nativeId,
        nhiAccountLineage(nhi, hold.reason, hold.heldAt),
        `Disable the account of NHI ${nhi.name} in ${ref.system} again: found enabled while the NHI is disabled (${hold.reason}).`,
      ),
    };
  }

  if (hold === null || nhi.removedAt !== null) return { kind: "none" };
  // Enabled again: an owner was assigned, or the inventory named a new one.
  if (hold.state !== "held") return { kind: "release", why: "Tenure had not disabled it" };
  if (hold.wasEnabled === false)
    return { kind: "release", why: "the account was disabled before the NHI was" };
  if (ref === null || ref.system !== hold.system || ref.username !== hold.username)
    return { kind: "release", why: "the NHI names another account now" };
  if (system === null) return { kind: "release", why: `${ref.system} is no longer a configured system` };
  if (account?.gone === true)
    return { kind: "release", why: `the account is no longer found in ${ref.system}` };
  if (account !== null && account.identityId !== null)
    return {
      kind: "release",
      why: "the account is correlated to an identity: the plan decides whether it is enabled",
    };
  if (system.orphans === "disable")
    return {
      kind: "release",
      why: `${ref.system} disables accounts that belong to nobody (orphans: disable)`,
    };
  if (account?.enabled === true) return { kind: "release", why: "the account is enabled already" };
  return {
    kind: "enable",
    operation: accountOperation(
      "enable",
      nhi,
      ref,
      account?.nativeId ?? null,
      {
        kind: "lifecycle",
        policy: "nhi.policy.onOwnerLeave",
        note: `NHI ${nhi.name} enabled again on ${now.toISOString().slice(0, 10)}: it has an owner`,
      },
      `Enable the account of NHI ${nhi.name} in ${ref.system} again: the NHI has an owner again.`,
    ),
  };
}
