import type { Db } from "../store/schema-types.js";
import { type AccountAt, accountKey, type DesiredAt, desireKey, type ReplayState } from "./access-replay.js";

/*
 * How an access checkpoint's state is stored, so a question reads only its part: one row of accounts per
 * system, and one row of desires per (system, entitlement) — entitlement '' for the accounts themselves
 * (create, enable, disable, delete). `who-had --system S --entitlement E` reads S's accounts (replaying
 * the events after the checkpoint needs each account's previous state) and S/E's desires only: at
 * 10,000,000 events the desires were most of a system's 13 MB. Each "why" text is kept once per row (the
 * lineage of a role repeats across thousands of grants).
 *
 * The migration 2026-12-05T18-00-access-checkpoint-slices.ts converts older checkpoints into this form
 * with its own copy of `encodeDesired` (a migration never changes after landing): keep the two in step.
 */

/** A desire as stored: [username, identityId, wanted (1/0), kind, why (index), operationId, stage (q/s), seq, time]. */
type DesiredTuple = [string, string | null, 0 | 1, string, number, string, "q" | "s", number, string];

interface DesiredRow {
  whys: string[];
  rows: DesiredTuple[];
}

/** The rows a checkpoint of `state` writes. */
export function encodeCheckpoint(state: ReplayState): {
  accounts: Array<{ system: string; state: string }>;
  desired: Array<{ system: string; entitlement: string; state: string }>;
} {
  const accounts = new Map<string, AccountAt[]>();
  for (const a of state.accounts.values()) {
    const list = accounts.get(a.system);
    if (list === undefined) accounts.set(a.system, [a]);
    else list.push(a);
  }
  const desired = new Map<string, { system: string; entitlement: string; list: DesiredAt[] }>();
  for (const d of state.desired.values()) {
    const entitlement = d.entitlement ?? "";
    const key = `${d.system}\u0000${entitlement}`;
    const group = desired.get(key);
    if (group === undefined) desired.set(key, { system: d.system, entitlement, list: [d] });
    else group.list.push(d);
  }
  return {
    accounts: [...accounts].map(([system, list]) => ({ system, state: JSON.stringify(list) })),
    desired: [...desired.values()].map((g) => ({
      system: g.system,
      entitlement: g.entitlement,
      state: JSON.stringify(encodeDesired(g.list)),
    })),
  };
}

function encodeDesired(list: readonly DesiredAt[]): DesiredRow {
  const whys: string[] = [];
  const index = new Map<string, number>();
  const rows = list.map((d): DesiredTuple => {
    let i = index.get(d.why);
    if (i === undefined) {
      i = whys.length;
      whys.push(d.why);
      index.set(d.why, i);
    }
    const stage = d.stage === "queued" ? "q" : "s";
    return [d.username, d.identityId, d.wanted ? 1 : 0, d.kind, i, d.operationId, stage, d.seq, d.time];
  });
  return { whys, rows };
}

/**
 * Adds a checkpoint's state to `state`: every system, or one system (and, with an entitlement, only the
 * desires of that entitlement — enough for who-had, not for other questions).
 */
export async function loadCheckpoint(
  db: Db,
  state: ReplayState,
  seq: number,
  part: { system?: string; entitlement?: string } = {},
): Promise<void> {
  let accounts = db.selectFrom("access_checkpoint_accounts").select("state").where("seq", "=", seq);
  let desired = db
    .selectFrom("access_checkpoint_desired")
    .select(["system", "entitlement", "state"])
    .where("seq", "=", seq);
  if (part.system !== undefined) {
    accounts = accounts.where("system", "=", part.system);
    desired = desired.where("system", "=", part.system);
    if (part.entitlement !== undefined) desired = desired.where("entitlement", "=", part.entitlement);
  }
  for (const row of await accounts.execute()) {
    for (const a of JSON.parse(row.state) as AccountAt[])
      state.accounts.set(accountKey(a.system, a.username), a);
  }
  for (const row of await desired.execute()) {
    const { whys, rows } = JSON.parse(row.state) as DesiredRow;
    for (const [username, identityId, wanted, kind, why, operationId, stage, s, time] of rows) {
      // An entitlement's desires are grants and revokes; '' holds the account's own (entitlement null).
      const entitlement = kind === "grant" || kind === "revoke" ? row.entitlement : null;
      state.desired.set(desireKey(row.system, username, entitlement), {
        system: row.system,
        username,
        entitlement,
        identityId,
        wanted: wanted === 1,
        kind,
        why: whys[why]!,
        operationId,
        stage: stage === "q" ? "queued" : "succeeded",
        seq: s,
        time,
      });
    }
  }
}
