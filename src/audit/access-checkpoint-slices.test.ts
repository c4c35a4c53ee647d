import { type Kysely, sql } from "kysely";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { storeFactories, type TestStore } from "../../test/helpers/databases.js";
import { up } from "../store/migrations/2026-12-05T18-00-access-checkpoint-slices.js";
import { encodeCheckpoint, loadCheckpoint } from "./access-checkpoint-slices.js";
import {
  type AccountAt,
  accountKey,
  type DesiredAt,
  desireKey,
  emptyReplay,
  type ReplayState,
} from "./access-replay.js";

function account(system: string, username: string, entitlements: string[]): AccountAt {
  return {
    system,
    username,
    nativeId: `${system}-${username}`,
    identityId: `id-${username}`,
    enabled: true,
    entitlements,
    vanished: false,
    since: "2026-01-01T00:00:00.000Z",
    enabledSince: "2026-01-01T00:00:00.000Z",
    entitlementSince: Object.fromEntries(entitlements.map((e) => [e, "2026-01-02T00:00:00.000Z"])),
    seq: 3,
    time: "2026-01-02T00:00:00.000Z",
    cause: "reconcile",
  };
}

function desire(
  system: string,
  username: string,
  kind: string,
  entitlement: string | null,
  why: string,
): DesiredAt {
  return {
    system,
    username,
    entitlement,
    identityId: `id-${username}`,
    wanted: kind === "grant" || kind === "create" || kind === "enable",
    kind,
    why,
    operationId: `op-${username}-${kind}`,
    stage: kind === "revoke" ? "queued" : "succeeded",
    seq: 7,
    time: "2026-01-03T00:00:00.000Z",
  };
}

/** Two systems; desires of an entitlement, of another, of the account itself, sharing their "why". */
function sample(): ReplayState {
  const state = emptyReplay();
  for (const a of [
    account("erp", "ann", ["e1", "e2"]),
    account("erp", "bob", []),
    account("crm", "ann", ["e1"]),
  ])
    state.accounts.set(accountKey(a.system, a.username), a);
  for (const d of [
    desire("erp", "ann", "grant", "e1", "role staff"),
    desire("erp", "bob", "grant", "e1", "role staff"),
    desire("erp", "bob", "revoke", "e2", "no longer desired"),
    desire("erp", "bob", "disable", null, "leaver"),
    desire("crm", "ann", "grant", "e1", "role staff"),
  ])
    state.desired.set(desireKey(d.system, d.username, d.entitlement), d);
  return state;
}

const sorted = <T>(m: Map<string, T>) => [...m].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));

describe.each(await storeFactories())(
  "access checkpoint slices, with the store on %s",
  (_kind, makeStore) => {
    let store: TestStore;
    beforeEach(async () => {
      store = await makeStore();
    });
    afterEach(async () => {
      await store.dispose();
    });

    async function write(seq: number, state: ReplayState): Promise<void> {
      const rows = encodeCheckpoint(state);
      for (const r of rows.accounts)
        await store.db
          .insertInto("access_checkpoint_accounts")
          .values({ seq, ...r })
          .execute();
      for (const r of rows.desired)
        await store.db
          .insertInto("access_checkpoint_desired")
          .values({ seq, ...r })
          .execute();
    }

    it("reads back the whole state, a system's, or a system's for one entitlement", async () => {
      const state = sample();
      await write(5, state);
      const whole = emptyReplay();
      await loadCheckpoint(store.db, whole, 5);
      expect(sorted(whole.accounts)).toEqual(sorted(state.accounts));
      expect(sorted(whole.desired)).toEqual(sorted(state.desired));

      const erpE1 = emptyReplay();
      await loadCheckpoint(store.db, erpE1, 5, { system: "erp", entitlement: "e1" });
      expect([...erpE1.accounts.keys()].sort()).toEqual([accountKey("erp", "ann"), accountKey("erp", "bob")]);
      expect([...erpE1.desired.values()]).toEqual(
        [...state.desired.values()].filter((d) => d.system === "erp" && d.entitlement === "e1"),
      );
      const erp = emptyReplay();
      await loadCheckpoint(store.db, erp, 5, { system: "erp" });
      expect(erp.desired.size).toBe(4);
    });

    it("keeps each why once per row", async () => {
      const { desired } = encodeCheckpoint(sample());
      const e1 = desired.find((r) => r.system === "erp" && r.entitlement === "e1")!;
      expect(JSON.parse(e1.state).whys).toEqual(["role staff"]);
    });

    it("the migration converts a checkpoint stored per system into the sliced form", async () => {
      const state = sample();
      // Back to the schema before the migration, with a checkpoint in the old form.
      // biome-ignore lint/suspicious/noExplicitAny: the schema of before the migration, not today's types.
      const db = store.db as unknown as Kysely<any>;
      await sql`drop index audit_events_system_seq_idx`.execute(db);
      await db.schema.dropTable("access_checkpoint_desired").execute();
      await db.schema.dropTable("access_checkpoint_accounts").execute();
      await db.schema
        .createTable("access_checkpoint_systems")
        .addColumn("seq", "integer", (c) => c.notNull())
        .addColumn("system", "text", (c) => c.notNull())
        .addColumn("state", "text", (c) => c.notNull())
        .addPrimaryKeyConstraint("access_checkpoint_systems_pk", ["seq", "system"])
        .execute();
      for (const system of ["erp", "crm"]) {
        const slice = {
          accounts: [...state.accounts.values()].filter((a) => a.system === system),
          desired: [...state.desired.values()].filter((d) => d.system === system),
        };
        await db
          .insertInto("access_checkpoint_systems")
          .values({ seq: 5, system, state: JSON.stringify(slice) })
          .execute();
      }
      await up(db);
      const loaded = emptyReplay();
      await loadCheckpoint(store.db, loaded, 5);
      expect(sorted(loaded.accounts)).toEqual(sorted(state.accounts));
      expect(sorted(loaded.desired)).toEqual(sorted(state.desired));
    });
  },
);
