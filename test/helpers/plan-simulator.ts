import type { Account, PlannedOperation } from "../../src/domain/access-types.js";

function isGoneAccount(account: Account): boolean {
  return account.vanishedAt !== undefined && account.vanishedAt !== null;
}

/**
 * What the operations do to the accounts, as a connector would: a pure simulator for the planner's
 * property tests and the plan benchmark (kept out of src/: the product never simulates, it applies). Returns new account objects; `actual` is not modified. An account is found by
 * system and nativeId (when the operation has one) or username. `create` makes a managed account
 * (replacing a vanished row of the same name); grant/revoke keep `managedEntitlements` in step;
 * `delete` removes the row. Deleting or revoking what is not there is a no-op, as connectors are
 * idempotent; any other operation on a missing account throws, since a connector would fail.
 */
export function applyPlanToAccounts(actual: readonly Account[], ops: readonly PlannedOperation[]): Account[] {
  const accounts: (Account | null)[] = actual.map((a) => a);
  const copied = new Set<number>();
  const locate = new Map<string, number>();
  const byNativeId = new Map<string, number>();
  const keyOf = (system: string, name: string) => `${system}\u0000${name}`;
  for (let i = 0; i < accounts.length; i++) {
    const a = accounts[i]!;
    const key = keyOf(a.system, a.username);
    // A live account wins over a vanished row of the same name.
    if (!locate.has(key) || !isGoneAccount(a)) locate.set(key, i);
    if (a.nativeId !== null && !isGoneAccount(a)) byNativeId.set(keyOf(a.system, a.nativeId), i);
  }
  const live = (i: number | undefined): number | undefined =>
    i === undefined || accounts[i] === null || isGoneAccount(accounts[i]!) ? undefined : i;
  const find = (op: PlannedOperation): number | undefined =>
    (op.nativeId === null ? undefined : live(byNativeId.get(keyOf(op.system, op.nativeId)))) ??
    live(locate.get(keyOf(op.system, op.username)));
  const writable = (i: number): Account => {
    if (!copied.has(i)) {
      const a = accounts[i]!;
      accounts[i] = {
        ...a,
        attributes: { ...a.attributes },
        entitlements: [...a.entitlements],
        managedEntitlements: [...a.managedEntitlements],
      };
      copied.add(i);
    }
    return accounts[i]!;
  };

  for (const op of ops) {
    if (op.kind === "create") {
      const existing = locate.get(keyOf(op.system, op.username));
      const account: Account = {
        system: op.system,
        nativeId: null,
        username: op.username,
        identityId: op.identityId,
        enabled: op.enabled ?? true,
        attributes: { ...op.attributes },
        entitlements: [],
        managedEntitlements: [],
        managed: true,
        vanishedAt: null,
        lastSeenAt: null,
        lastUsedAt: null,
      };
      if (existing !== undefined && accounts[existing] !== null && !isGoneAccount(accounts[existing]!)) {
        throw new Error(`create ${op.system}/${op.username}: the account already exists`);
      }
      if (existing !== undefined && accounts[existing] !== null) {
        accounts[existing] = account;
        copied.add(existing);
      } else {
        locate.set(keyOf(op.system, op.username), accounts.push(account) - 1);
        copied.add(accounts.length - 1);
      }
      continue;
    }
    if (op.kind === "rotate") continue;
    const i = find(op);
    if (i === undefined) {
      if (op.kind === "delete" || op.kind === "revoke") continue;
      throw new Error(`${op.kind} ${op.system}/${op.username}: no such account`);
    }
    if (op.kind === "delete") {
      accounts[i] = null;
      continue;
    }
    const account = writable(i);
    switch (op.kind) {
      case "enable":
        account.enabled = true;
        break;
      case "disable":
        account.enabled = false;
        break;
      case "update":
        Object.assign(account.attributes, op.attributes);
        break;
      case "grant":
        if (!account.entitlements.includes(op.entitlement!)) account.entitlements.push(op.entitlement!);
        if (!account.managedEntitlements.includes(op.entitlement!))
          account.managedEntitlements.push(op.entitlement!);
        break;
      case "revoke":
        account.entitlements = account.entitlements.filter((e) => e !== op.entitlement);
        account.managedEntitlements = account.managedEntitlements.filter((e) => e !== op.entitlement);
        break;
    }
  }
  return accounts.filter((a): a is Account => a !== null);
}
