import type { PlanProblem } from "./plan.js";
import { allocateUsername } from "./username-template.js";

/** One identity that needs a new username in a system. `base` is the rendered template (null: empty). */
export interface UsernameCandidate {
  identityId: string;
  base: string | null;
}

/**
 * Gives each candidate a username in one system, deterministically: candidates in identity-id order,
 * each taking its base when free, else by the collision rule (`suffix`: base2, base3 …; `fail`: no
 * username and a problem). `taken` is every username already used in the system (accounts of anyone,
 * orphans, vanished rows, links); it is not modified. Never throws.
 */
export function allocateUsernames(input: {
  system: string;
  collision: "suffix" | "fail";
  candidates: readonly UsernameCandidate[];
  taken: ReadonlySet<string>;
}): { assigned: Map<string, string>; problems: PlanProblem[] } {
  const allocator = createAllocator(input.system, input.collision, new Set(input.taken));
  const assigned = new Map<string, string>();
  const problems: PlanProblem[] = [];
  for (const { identityId, base } of [...input.candidates].sort((a, b) =>
    compareIds(a.identityId, b.identityId),
  )) {
    const result = allocateNext(allocator, identityId, base);
    if (typeof result === "string") assigned.set(identityId, result);
    else problems.push(result);
  }
  return { assigned, problems };
}

export function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The usernames of one system as allocation proceeds: those taken, and the next suffix per base. */
export interface Allocator {
  system: string;
  collision: "suffix" | "fail";
  /** Owned by the allocator: every name it hands out is added. */
  taken: Set<string>;
  // So a thousand John Smiths cost a thousand checks, not half a million.
  nextSuffix: Map<string, number>;
}

export function createAllocator(system: string, collision: "suffix" | "fail", taken: Set<string>): Allocator {
  return { system, collision, taken, nextSuffix: new Map() };
}

/** The next name for `identityId`, or the problem that stops it. Callers go in identity-id order. */
export function allocateNext(
  allocator: Allocator,
  identityId: string,
  base: string | null,
  /** How the message names the identity: its id, and its HR key where the caller knows it. */
  who: string = identityId,
): string | PlanProblem {
  const { system, taken } = allocator;
  const result = allocateUsername(
    base ?? "",
    taken,
    allocator.collision,
    allocator.nextSuffix.get(base ?? "") ?? 2,
  );
  if (!result.ok) {
    return {
      kind: result.reason === "empty" ? "username-empty" : "username-taken",
      identityId,
      system,
      username: base,
      message: `${system}: no account for identity ${who}: ${result.message}`,
    };
  }
  taken.add(result.username);
  if (result.username !== base) {
    allocator.nextSuffix.set(base!, Number(result.username.slice(base!.length)) + 1);
  }
  return result.username;
}
