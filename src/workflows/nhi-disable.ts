import { type AuditEventInput, appendEvents } from "../audit/ledger.js";
import {
  type NhiAccountRecord,
  type NhiAccountStep,
  type NhiSystemFacts,
  nhiAccountRef,
  nhiAccountStep,
} from "../domain/nhi-account.js";
import type { NonHumanIdentity } from "../domain/nhi-types.js";
import { enqueueInTransaction } from "../engine/enqueue.js";
import { applyQueued, type ConnectorPool } from "../engine/provision.js";
import type { TenureConfig } from "../policy/config-types.js";
import { accountRepository } from "../store/account-repository.js";
import type { Store } from "../store/database.js";
import { nhiAccountHoldRepository } from "../store/nhi-account-hold-repository.js";
import { nhiRepository } from "../store/nhi-repository.js";
import type { Db } from "../store/schema-types.js";

/**
 * A disabled non-human identity's credential switched off in its target (issue 17, item 3; docs/nhi.md
 * "What disabled does"). The decisions are domain/nhi-account.ts's; this reads the NHI's hold and its
 * account row, records the hold, queues the disable (or, once the NHI is enabled again, the enable) through
 * the engine as a durable operation — lineage `nhi.policy.onOwnerLeave`, filed under the NHI's identity —
 * and audits each step in the same transaction:
 *
 * - `nhi.account_disable_queued` — the account's disable is queued (with a caveat where the connector's
 *   disable only flags the account); `nhi.account_held` — it was disabled already;
 * - `nhi.account_disable_unenforced` — Tenure cannot switch it off (no system, an unconfigured one, an
 *   account of another identity, a vanished account), with why: a finding for a person;
 * - `nhi.account_enable_queued` / `nhi.account_released` — the NHI is enabled again.
 *
 * Owner succession calls {@link settleNhiAccountIn} inside the transaction that disables the NHI, so the NHI
 * is never recorded disabled without its account's disable queued; {@link settleNhiAccounts} sweeps the rest
 * (an NHI enabled again by an assigned owner or the inventory, an account enabled again outside Tenure, an
 * NHI disabled before this existed). Safe to run on several processes at once: a hold is inserted or
 * deleted once, and an operation whose key is open is not queued (nor audited) twice.
 */

/** What became of one NHI's account. */
export interface NhiAccountOutcome {
  /** The NHI's id (its identity's). */
  nhiId: string;
  name: string;
  system: string | null;
  username: string | null;
  outcome: "disable-queued" | "held" | "unenforced" | "disable-requeued" | "enable-queued" | "released";
  /** Why it is unenforced or released, or the caveat of a disable that only flags the account. */
  detail: string | null;
  /** The operation queued, when one was. */
  operationId: string | null;
}

/** What settling reads of the configuration and the connectors. */
export interface NhiAccountDeps {
  config: Pick<TenureConfig, "policy">;
  /** The NHI's system as configured and as its connector describes it; null when not configured. */
  systemFacts: (system: string) => NhiSystemFacts | null;
}

export interface NhiAccountOptions {
  now: Date;
  actor: string;
}

/** Each system's facts from tenure.yaml and its connector's description, read once per system. */
export function systemFactsFrom(
  config: Pick<TenureConfig, "policy">,
  pool: ConnectorPool,
): (system: string) => NhiSystemFacts | null {
  const seen = new Map<string, NhiSystemFacts | null>();
  return (system) => {
    if (seen.has(system)) return seen.get(system) ?? null;
    const def = config.policy.systems[system];
    let facts: NhiSystemFacts | null = null;
    if (def !== undefined) {
      let refusesUse = true;
      try {
        refusesUse = pool.get(system).describe().disableRefusesUse;
      } catch {
        // A connector that cannot be made fails its operation too, visibly: no caveat is guessed here.
      }
      facts = { orphans: def.orphans, connector: def.connector, disableRefusesUse: refusesUse };
    }
    seen.set(system, facts);
    return facts;
  };
}

async function decide(
  db: Db,
  nhi: NonHumanIdentity,
  deps: NhiAccountDeps,
  now: Date,
): Promise<NhiAccountStep> {
  const ref = nhiAccountRef(nhi);
  const hold = (await nhiAccountHoldRepository.find(db, nhi.id)) ?? null;
  if (nhi.disabledAt === null && hold === null) return { kind: "none" };
  const system = ref === null ? null : deps.systemFacts(ref.system);
  let account: NhiAccountRecord | null = null;
  if (ref !== null) {
    const [row] = await accountRepository.findMany(db, [ref]);
    if (row !== undefined)
      account = {
        nativeId: row.nativeId,
        identityId: row.identityId,
        enabled: row.enabled,
        gone: (row.vanishedAt ?? null) !== null,
      };
  }
  return nhiAccountStep({ nhi, system, account, hold }, now);
}

/**
 * Settles one NHI's account in the caller's transaction, as `nhi` stands in it (the caller wrote it, or
 * read it in this transaction): holds and disables, releases and enables, per domain/nhi-account.ts, with
 * the audit events. Returns what it did; null when nothing was to do (or another process did it).
 */
export async function settleNhiAccountIn(
  trx: Db,
  nhi: NonHumanIdentity,
  deps: NhiAccountDeps,
  options: NhiAccountOptions,
): Promise<NhiAccountOutcome | null> {
  const step = await decide(trx, nhi, deps, options.now);
  return write(trx, nhi, step, deps, options);
}

async function write(
  trx: Db,
  nhi: NonHumanIdentity,
  step: NhiAccountStep,
  deps: NhiAccountDeps,
  options: NhiAccountOptions,
): Promise<NhiAccountOutcome | null> {
  if (step.kind === "none") return null;
  const ref = nhiAccountRef(nhi);
  const base = {
    nhiId: nhi.id,
    name: nhi.name,
    system: ref?.system ?? null,
    username: ref?.username ?? null,
  };
  const event = (action: string, details: Record<string, unknown>): AuditEventInput => ({
    time: options.now.toISOString(),
    actor: options.actor,
    action,
    subject: nhi.id,
    details: { name: nhi.name, system: base.system, username: base.username, ...details },
  });
  const queue = async (op: Extract<NhiAccountStep, { operation: unknown }>["operation"]) => {
    const result = await enqueueInTransaction(trx, [op], {
      now: options.now,
      actor: options.actor,
      systems: deps.config.policy.systems,
    });
    return result.queued[0]?.id ?? null;
  };

  switch (step.kind) {
    case "disable": {
      if (!(await nhiAccountHoldRepository.insert(trx, step.hold))) return null;
      const operationId = await queue(step.operation);
      await appendEvents(trx, [
        event("nhi.account_disable_queued", {
          reason: step.hold.reason,
          operationId,
          // Queued already (the plan's disable of the same account): the open operation does it.
          ...(operationId === null ? { alreadyQueued: true } : {}),
          wasEnabled: step.hold.wasEnabled,
          ...(step.caveat === null ? {} : { caveat: step.caveat }),
        }),
      ]);
      return { ...base, outcome: "disable-queued", detail: step.caveat, operationId };
    }
    case "held":
    case "unenforced": {
      if (!(await nhiAccountHoldRepository.insert(trx, step.hold))) return null;
      const action = step.kind === "held" ? "nhi.account_held" : "nhi.account_disable_unenforced";
      await appendEvents(trx, [
        event(action, {
          reason: step.hold.reason,
          ...(step.kind === "held" ? { note: "the account was disabled already" } : { why: step.hold.why }),
        }),
      ]);
      return { ...base, outcome: step.kind, detail: step.hold.why, operationId: null };
    }
    case "redisable": {
      const operationId = await queue(step.operation);
      // Its disable is still open (queued, retrying, or a person's task): nothing new to do or say.
      if (operationId === null) return null;
      await appendEvents(trx, [
        event("nhi.account_disable_queued", {
          reason: "found enabled while the NHI is disabled",
          operationId,
          again: true,
        }),
      ]);
      return { ...base, outcome: "disable-requeued", detail: null, operationId };
    }
    case "enable": {
      if (!(await nhiAccountHoldRepository.remove(trx, nhi.id))) return null;
      const operationId = await queue(step.operation);
      await appendEvents(trx, [
        event("nhi.account_enable_queued", {
          operationId,
          ...(operationId === null ? { alreadyQueued: true } : {}),
        }),
      ]);
      return { ...base, outcome: "enable-queued", detail: null, operationId };
    }
    case "release": {
      if (!(await nhiAccountHoldRepository.remove(trx, nhi.id))) return null;
      await appendEvents(trx, [event("nhi.account_released", { why: step.why })]);
      return { ...base, outcome: "released", detail: step.why, operationId: null };
    }
  }
}

/**
 * Settles the account of every NHI that is disabled or held: read first, and written (in one transaction
 * per NHI, re-reading it there) only where a step is due — in the steady state it writes nothing.
 */
export async function settleNhiAccounts(
  store: Pick<Store, "db">,
  deps: NhiAccountDeps,
  options: NhiAccountOptions,
): Promise<NhiAccountOutcome[]> {
  const { db } = store;
  const out: NhiAccountOutcome[] = [];
  for (const id of await nhiAccountHoldRepository.candidates(db)) {
    const nhi = await nhiRepository.findById(db, id);
    if (nhi === undefined) continue;
    if ((await decide(db, nhi, deps, options.now)).kind === "none") continue;
    const done = await db.transaction().execute(async (trx) => {
      const fresh = await nhiRepository.findById(trx, id);
      return fresh === undefined ? null : settleNhiAccountIn(trx, fresh, deps, options);
    });
    if (done !== null) out.push(done);
  }
  return out;
}

/**
 * Applies the operations settling queued now, at once (only those NHIs' operations): the credential stops
 * working when the NHI is disabled, not at the next apply. A failure is the operation's (retried, alerted).
 */
export async function applyNhiAccountOperations(
  store: Store,
  config: TenureConfig,
  pool: ConnectorPool,
  outcomes: readonly NhiAccountOutcome[],
  options: NhiAccountOptions,
): Promise<void> {
  const ids = [...new Set(outcomes.flatMap((o) => (o.operationId === null ? [] : [o.nhiId])))];
  if (ids.length === 0) return;
  await applyQueued(store, config, { now: () => options.now, actor: options.actor, pool, identityIds: ids });
}
