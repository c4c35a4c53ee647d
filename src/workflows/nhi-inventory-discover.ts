import type { Account } from "../domain/access-types.js";
import type { NhiDiscoveryRule, NonHumanIdentity } from "../domain/nhi-types.js";
import { accountRepository } from "../store/account-repository.js";
import { nhiRepository } from "../store/nhi-repository.js";
import type { Db } from "../store/schema-types.js";
import { bump, changesOf, discovered } from "./nhi-inventory-diff.js";
import type { NhiChange } from "./nhi-inventory-write.js";

/**
 * The inventory sync's discovery (workflows/nhi-inventory.ts): an account of a discover rule's system that
 * belongs to no identity and matches the rule becomes a discovered NHI with no owner. The account itself
 * is left uncorrelated: a correlated account with no desired access would be disabled (and, once managed,
 * deleted) by the next plan.
 */

/**
 * The changes `rule` makes: new discovered NHIs, and the last use of those discovered already. `existing`
 * holds the NHIs read whole so far, as this sync leaves them (`has` names every NHI stored); the rule's
 * system's NHIs, and those its accounts would be named as, are read into it here. `change` records a change
 * (and puts its NHI in `existing`).
 */
export async function discoverChanges(
  db: Db,
  rule: NhiDiscoveryRule,
  existing: Map<string, NonHumanIdentity>,
  stored: { has(name: string): boolean },
  change: (c: Omit<NhiChange, "ownerKey">) => void,
  now: Date,
): Promise<void> {
  const accounts = (await accountRepository.list(db, { system: rule.system, orphansOnly: true })).filter(
    (a) => !a.vanishedAt && matchesRule(rule, a),
  );
  const names = accounts.map((a) => `${a.username}@${rule.system}`);
  const missing = (list: readonly NonHumanIdentity[]) => list.filter((n) => !existing.has(n.name));
  for (const n of missing(await nhiRepository.list(db, { system: rule.system }))) existing.set(n.name, n);
  const unread = names.filter((name) => stored.has(name) && !existing.has(name));
  for (const n of missing(await nhiRepository.findByNames(db, unread))) existing.set(n.name, n);

  const taken = new Set(
    [...existing.values()]
      .filter((n) => n.system === rule.system && n.account !== null)
      .map((n) => n.account),
  );
  accounts.forEach((account, i) => {
    const name = names[i]!;
    const known = existing.get(name);
    if (known !== undefined) {
      // A discovered NHI's last use is its account's, as reconcile last read it (a known date is kept
      // when the connector no longer reports one).
      if (
        known.origin === "discovered" &&
        known.removedAt === null &&
        account.lastUsedAt !== null &&
        account.lastUsedAt !== known.lastUsedAt
      ) {
        const after = bump({ ...known, lastUsedAt: account.lastUsedAt }, now);
        change({
          kind: "updated",
          before: known,
          after,
          events: [
            {
              action: "nhi.updated",
              details: { name, changes: changesOf(known, after), at: `account ${account.username}` },
            },
          ],
        });
      }
      return;
    }
    if (taken.has(account.username)) return;
    change({
      kind: "discovered",
      before: undefined,
      after: discovered(rule, account, name, now),
      events: [
        {
          action: "nhi.discovered",
          details: {
            name,
            type: rule.type,
            system: rule.system,
            account: account.username,
            rule: `${rule.location.file}:${rule.location.line}`,
          },
        },
      ],
    });
    taken.add(account.username);
  });
}

/** Whether `rule` selects `account`: a DN at or under `dnUnder`, or a username LIKE `usernameLike`. */
export function matchesRule(
  rule: Pick<NhiDiscoveryRule, "dnUnder" | "usernameLike">,
  account: Account,
): boolean {
  if (rule.dnUnder !== null) {
    const dn = normaliseDn(account.nativeId ?? "");
    const base = normaliseDn(rule.dnUnder);
    return dn === base || dn.endsWith(`,${base}`);
  }
  if (rule.usernameLike !== null) return likePattern(rule.usernameLike).test(account.username);
  return false;
}

function normaliseDn(dn: string): string {
  return dn
    .split(",")
    .map((part) => part.trim().toLowerCase())
    .join(",");
}

/** A SQL LIKE pattern as a whole-string, case-insensitive regular expression. */
function likePattern(like: string): RegExp {
  const body = [...like]
    .map((ch) => (ch === "%" ? ".*" : ch === "_" ? "." : ch.replace(/[\\^$.*+?()[\]{}|/-]/g, "\\$&")))
    .join("");
  return new RegExp(`^${body}$`, "is");
}
