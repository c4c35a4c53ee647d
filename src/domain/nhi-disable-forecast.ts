import type { WorkerAttributes } from "./identity-types.js";
import { stateFromAttributes } from "./lifecycle.js";
import { DAY_MS, localDate } from "./local-date.js";
import {
  type NhiAccountHold,
  type NhiAccountRecord,
  type NhiSystemFacts,
  nhiAccountStep,
} from "./nhi-account.js";
import type { NonHumanIdentity, OwnerLeavePolicy } from "./nhi-types.js";
import { leavingDate } from "./retention.js";

/**
 * Which non-human identities owner succession would disable by a future instant, and what would become of
 * their accounts (`tenure plan --at T`, docs/nhi.md "Previewing disables"). Pure: the workflow
 * (workflows/nhi-plan-preview.ts) gathers the NHIs, the people and their leaving dates as HR dates them,
 * the holds and the accounts; this replays domain/nhi-succession.ts's rules forward in time.
 *
 * The preview is the worst case the policy allows: **nobody confirms** a pending ownership (a pending owner
 * who confirms in time keeps the NHI enabled), and only leaving is foreseen (a move with `onMove` is not:
 * no HR date announces it). Ownership passes on the day a person leaves (the `nhi` job's next tick in
 * practice), to the successor known today. With `otherwise: keep` nothing is ever disabled.
 */

/** One person as the preview needs them. */
export interface ForecastPerson {
  /** How the preview names them (their HR key). */
  key: string;
  /** When they are gone (terminated or deleted), already or by an HR date; null: not leaving as far as known. */
  leavesAt: string | null;
  /** Their leaving day as HR dates it (in their source's time zone), for the words; absent: `leavesAt`'s UTC date. */
  leavesOn?: string;
  /** Whom ownership would pass to when they leave (their manager, else the fallback); null: nobody. */
  successorId: string | null;
}

/** One NHI with its account's facts, as domain/nhi-account.ts reads them. */
export interface ForecastNhi {
  nhi: Pick<
    NonHumanIdentity,
    | "id"
    | "name"
    | "system"
    | "account"
    | "ownerId"
    | "pendingOwnerId"
    | "pendingDeadline"
    | "disabledAt"
    | "disabledReason"
    | "removedAt"
  >;
  system: NhiSystemFacts | null;
  account: NhiAccountRecord | null;
  hold: NhiAccountHold | null;
}

export interface NhiDisableForecastInput {
  nhis: readonly ForecastNhi[];
  /** Everyone named as an owner, pending owner or successor (an id absent: someone gone, as succession sees it). */
  people: ReadonlyMap<string, ForecastPerson>;
  policy: OwnerLeavePolicy;
  /** Now: the preview starts from the NHIs as stored at this instant. */
  now: Date;
}

/** One NHI that would be disabled by the instant asked about. */
export interface NhiDisableForecast {
  nhiId: string;
  name: string;
  /** When it would be disabled (ISO-8601); an NHI disabled already whose account is not held yet: now. */
  at: string;
  /** Why, in words: who left, who did not confirm by when. */
  why: string;
  system: string | null;
  /** The account's username in `system`; null when the NHI names no system. */
  account: string | null;
  /**
   * What would become of the account: `disable` (a disable queued and applied), `disabled-already`
   * (held as it is), `unenforced` (Tenure cannot disable it: {@link NhiDisableForecast.accountNote} says why).
   */
  accountAction: "disable" | "disabled-already" | "unenforced";
  /** Why unenforced, or the caveat of a disable that only flags the account; null otherwise. */
  accountNote: string | null;
}

/**
 * The instant a person's HR leaving date takes effect, as the lifecycle takes it: the first instant at which
 * `stateFromAttributes` (domain/lifecycle.ts), given "today" in their source's time zone (`sources.*.timeZone`,
 * as the sync and `plan --at` read it), calls them terminated — the start of the leaving day in that zone, not
 * midnight UTC. Found by bisecting over that very rule, so the preview and the lifecycle cannot disagree.
 * Null when the record names no leaving date.
 */
export function leavingInstant(attributes: WorkerAttributes, timeZone: string): Date | null {
  const leaving = leavingDate(attributes);
  if (leaving === null) return null;
  const gone = (t: number) =>
    stateFromAttributes(attributes, localDate(new Date(t), timeZone)).state === "terminated";
  // Every zone's offset lies within ±26 hours of UTC: before lo the day has not begun anywhere, by hi it has.
  const midnightUtc = Date.parse(`${leaving.date}T00:00:00.000Z`);
  if (Number.isNaN(midnightUtc)) return null;
  let lo = midnightUtc - (26 * DAY_MS) / 24;
  let hi = midnightUtc + (26 * DAY_MS) / 24;
  if (gone(lo) || !gone(hi)) return new Date(midnightUtc);
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (gone(mid)) hi = mid;
    else lo = mid;
  }
  return new Date(hi);
}

/** Past this many hand-overs an NHI's chain of successors is cut (a cycle of managers, say): not disabled. */
const MAX_STEPS = 64;

const day = (iso: string) => iso.slice(0, 10);

/** Ownership's path for one NHI up to `by`: the instant and reason of its disable, or null. */
function disableOf(
  n: ForecastNhi["nhi"],
  people: ReadonlyMap<string, ForecastPerson>,
  policy: OwnerLeavePolicy,
  now: Date,
  by: number,
): { at: number; why: string } | null {
  let t = now.getTime();
  const owner = n.ownerId;
  let pending = n.pendingOwnerId;
  let deadline = n.pendingDeadline === null ? Number.NaN : Date.parse(n.pendingDeadline);
  const story: string[] = [];
  // A person unknown to the store is gone already, as succession treats them.
  const leaves = (id: string) => {
    const p = people.get(id);
    if (p === undefined) return t;
    return p.leavesAt === null ? null : Math.max(t, Date.parse(p.leavesAt));
  };
  const who = (id: string) => people.get(id)?.key ?? id;
  const passOn = (leaving: string, when: number, label: string): { at: number; why: string } | null => {
    const next = people.get(leaving)?.successorId ?? null;
    const on = people.get(leaving)?.leavesOn ?? day(new Date(when).toISOString());
    if (next === null || next === leaving || next === owner) {
      return {
        at: when,
        why: [...story, `${label} left on ${on} and there is nobody to pass ownership to`].join("; "),
      };
    }
    story.push(`${label} leaves on ${on}: ownership passes to ${people.get(next)?.key ?? next}`);
    t = when;
    pending = next;
    deadline = when + policy.confirmWithinMs;
    return null;
  };

  for (let step = 0; step < MAX_STEPS; step++) {
    if (pending !== null) {
      const left = leaves(pending);
      if (left !== null && left < deadline && left <= by) {
        const done = passOn(pending, left, `the pending owner ${who(pending)}`);
        if (done !== null) return done;
        continue;
      }
      // Nobody confirms: the deadline passes (an unreadable one passes at once, as succession reads it).
      const due = Number.isNaN(deadline) ? t : Math.max(t, deadline);
      if (due > by) return null;
      const until = Number.isNaN(deadline) ? "the deadline" : new Date(deadline).toISOString();
      return {
        at: due,
        why: [...story, `${who(pending)} does not confirm ownership by ${until}`].join("; "),
      };
    }
    if (owner === null) return null;
    const left = leaves(owner);
    if (left === null || left > by) return null;
    const leaving = owner;
    const done = passOn(leaving, left, `the owner ${who(leaving)}`);
    if (done !== null) return done;
  }
  return null;
}

/**
 * The NHIs that would be disabled by `by`, soonest first (then by name), each with its account's fate. An NHI
 * disabled already is listed only while its account is not held yet (the next `nhi` job disables it); a
 * removed one never. Monotone: what is disabled by `by` is disabled, at the same instant, by any later one.
 */
export function forecastNhiDisables(input: NhiDisableForecastInput, by: Date): NhiDisableForecast[] {
  const out: NhiDisableForecast[] = [];
  for (const f of input.nhis) {
    const n = f.nhi;
    if (n.removedAt !== null) continue;
    let disable: { at: number; why: string } | null;
    if (n.disabledAt !== null) {
      if (f.hold !== null) continue;
      disable = {
        at: input.now.getTime(),
        why: `disabled on ${day(n.disabledAt)} (${n.disabledReason ?? "disabled"}); its account is not held disabled yet`,
      };
    } else if (input.policy.otherwise !== "disable") {
      continue;
    } else {
      disable = disableOf(n, input.people, input.policy, input.now, by.getTime());
    }
    if (disable === null) continue;
    const at = new Date(disable.at);
    const step = nhiAccountStep(
      {
        nhi: {
          ...n,
          disabledAt: n.disabledAt ?? at.toISOString(),
          disabledReason: n.disabledReason ?? disable.why,
        },
        system: f.system,
        account: f.account,
        hold: null,
      },
      at,
    );
    const hold =
      step.kind === "disable" || step.kind === "held" || step.kind === "unenforced" ? step.hold : null;
    out.push({
      nhiId: n.id,
      name: n.name,
      at: at.toISOString(),
      why: disable.why,
      system: hold?.system ?? n.system,
      account: hold?.username ?? null,
      accountAction:
        step.kind === "held" ? "disabled-already" : step.kind === "unenforced" ? "unenforced" : "disable",
      accountNote: hold?.why ?? null,
    });
  }
  return out.sort((a, b) =>
    a.at < b.at ? -1 : a.at > b.at ? 1 : a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
  );
}
