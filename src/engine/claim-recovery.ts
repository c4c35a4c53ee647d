import { readlinkSync } from "node:fs";
import os from "node:os";
import { appendEvents } from "../audit/ledger.js";
import { claimOwnerRepository, type ReleasedClaim } from "../store/claim-owner-repository.js";
import type { ClaimOwner } from "../store/claim-rows.js";
import type { Store } from "../store/database.js";

/**
 * This process, as its claims record it. `host` is the host name, plus the PID namespace where Linux
 * shows it: two containers may share a host name (host networking) but never a PID namespace, and a
 * pid is only meaningful inside its own — a live worker in a sibling container must not look dead.
 */
export function thisProcess(): ClaimOwner {
  return { host: HOST, pid: process.pid };
}

const HOST = (() => {
  try {
    const ns = /\[(\d+)\]/.exec(readlinkSync("/proc/self/ns/pid"))?.[1];
    return ns === undefined ? os.hostname() : `${os.hostname()}#pidns:${ns}`;
  } catch {
    return os.hostname();
  }
})();

/**
 * Whether a process with this pid runs on this host. Signal 0 checks without signalling: ESRCH means no
 * such process; EPERM means one runs under another user, which counts as alive. A pid reused by an
 * unrelated process also counts as alive: its claims then wait for their lease, the safe side.
 */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

export interface RecoveredOwner {
  owner: ClaimOwner;
  operations: number;
  notifications: number;
}

/**
 * Gives back the claims of processes on this host that are no longer running (a worker, `tenure serve`
 * or `tenure apply` that crashed or was killed), so their work is taken over at once instead of when
 * the leases end (300 s by default). A live process — this one included — never loses its claims, and
 * claims of other hosts are left to their lease: a pid means nothing elsewhere. Each recovered process
 * gets a `claims.recovered` audit event, in the transaction that releases its claims, naming the rows:
 * one of those operations may have been written to its system before the crash, and runs again
 * (idempotently) now. Returns what was recovered.
 */
export async function recoverDeadClaims(
  store: Pick<Store, "db">,
  options: { now: Date; actor: string; self?: ClaimOwner; isAlive?: (pid: number) => boolean },
): Promise<RecoveredOwner[]> {
  const self = options.self ?? thisProcess();
  const isAlive = options.isAlive ?? processAlive;
  const dead = (await claimOwnerRepository.ownersOn(store.db, self.host)).filter(
    (pid) => pid !== self.pid && !isAlive(pid),
  );
  const recovered: RecoveredOwner[] = [];
  for (const pid of dead) {
    const owner = { host: self.host, pid };
    const released = await store.db.transaction().execute(async (trx) => {
      const rows = await claimOwnerRepository.releaseOwner(trx, owner, options.now);
      if (rows.length > 0) {
        await appendEvents(trx, [
          {
            time: options.now.toISOString(),
            actor: options.actor,
            action: "claims.recovered",
            subject: `process:${owner.host}:${owner.pid}`,
            details: {
              host: owner.host,
              pid: owner.pid,
              why: "the process holding these claims is no longer running",
              operations: idsOf(rows, "operations"),
              notifications: idsOf(rows, "notifications"),
            },
          },
        ]);
      }
      return rows;
    });
    if (released.length === 0) continue;
    recovered.push({
      owner,
      operations: idsOf(released, "operations").length,
      notifications: idsOf(released, "notifications").length,
    });
  }
  return recovered;
}

/** When this process last looked for dead claims in a store (performance.now()), by the store's handle. */
const lastLook = new WeakMap<object, number>();
/** How often work that runs again and again in one process looks for dead claims, at most. */
const LOOK_EVERY_MS = 1000;

/**
 * {@link recoverDeadClaims} for work that runs again and again in one process — each push's apply, a
 * server's apply loop: at most once a second per store. Looking is two reads of the claimed rows, and a
 * burst of pushes applied every group's operations with those two first (398 of 11,688 statements of a
 * 2,000-create burst into OpenLDAP): a crashed process's claims are found within the second anyway.
 * The first call in a process always looks, so `tenure apply` takes them back at its start.
 */
export async function recoverDeadClaimsNowAndThen(
  store: Pick<Store, "db">,
  options: Parameters<typeof recoverDeadClaims>[1],
): Promise<RecoveredOwner[]> {
  const at = performance.now();
  const last = lastLook.get(store.db);
  if (last !== undefined && at - last < LOOK_EVERY_MS) return [];
  lastLook.set(store.db, at);
  return recoverDeadClaims(store, options);
}

function idsOf(rows: readonly ReleasedClaim[], table: ReleasedClaim["table"]): string[] {
  return rows.filter((r) => r.table === table).map((r) => r.id);
}

/**
 * Whose claims are held, as `tenure status` reports them. `holder`:
 * - `running` — a live process on this host: it is working on them;
 * - `dead` — a process on this host that is no longer running: its claims wait for the next start of
 *   `tenure apply`, `sync` or `serve` (or a run of the apply loop), which takes them back;
 * - `elsewhere` — a process on another host, which this one cannot check;
 * - `unknown` — no process recorded (claims made before claims recorded one).
 * `expired` counts the claims whose lease has ended: any worker takes them over at its next claim.
 */
export interface ClaimStatus {
  table: "operations" | "notifications";
  claimedBy: string;
  owner: ClaimOwner | null;
  holder: "running" | "dead" | "elsewhere" | "unknown";
  claims: number;
  expired: number;
  expiresAt: string;
  /** Claims not being worked on: all of a dead holder's, and the expired ones of any other. */
  waiting: number;
}

export async function claimStatus(
  store: Pick<Store, "db">,
  options: { now: Date; self?: ClaimOwner; isAlive?: (pid: number) => boolean },
): Promise<ClaimStatus[]> {
  const self = options.self ?? thisProcess();
  const isAlive = options.isAlive ?? processAlive;
  return (await claimOwnerRepository.holders(store.db, options.now)).map((h) => {
    const holder: ClaimStatus["holder"] =
      h.owner === null
        ? "unknown"
        : h.owner.host !== self.host
          ? "elsewhere"
          : h.owner.pid === self.pid || isAlive(h.owner.pid)
            ? "running"
            : "dead";
    return { ...h, holder, waiting: holder === "dead" ? h.claims : h.expired };
  });
}
