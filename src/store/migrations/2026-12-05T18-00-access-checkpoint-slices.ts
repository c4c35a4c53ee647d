import { type Kysely, SqliteAdapter, sql } from "kysely";

// Issue 18, item 1 (performance): who-had over 10,000,000 events in ≤ 1 s. A checkpoint's state was one
// JSON per system (13 MB for a system of 10,000 accounts, most of it desires), parsed whole to answer for
// one entitlement. Now: one row of accounts per system (`access_checkpoint_accounts`) and one row of
// desires per (system, entitlement) (`access_checkpoint_desired`, entitlement '' for the accounts
// themselves), each "why" text once per row (src/audit/access-checkpoint-slices.ts). Existing
// checkpoints are converted here, so point-in-time answers keep working (an archived ledger needs them).
//
// And `audit_events_system_seq_idx`: the events of one system after a checkpoint, read by (system, seq)
// — the system as the event's details name it — rather than by scanning every journal and operation
// event in the range. Never edit after landing.
// biome-ignore lint/suspicious/noExplicitAny: a migration sees the schema of its own day, not today's types.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable("access_checkpoint_accounts")
    .addColumn("seq", "integer", (c) => c.notNull())
    .addColumn("system", "text", (c) => c.notNull())
    .addColumn("state", "text", (c) => c.notNull())
    .addPrimaryKeyConstraint("access_checkpoint_accounts_pk", ["seq", "system"])
    .execute();
  await db.schema
    .createTable("access_checkpoint_desired")
    .addColumn("seq", "integer", (c) => c.notNull())
    .addColumn("system", "text", (c) => c.notNull())
    .addColumn("entitlement", "text", (c) => c.notNull())
    .addColumn("state", "text", (c) => c.notNull())
    .addPrimaryKeyConstraint("access_checkpoint_desired_pk", ["seq", "system", "entitlement"])
    .execute();

  // One old row at a time: each is a whole system (megabytes).
  const keys = await db.selectFrom("access_checkpoint_systems").select(["seq", "system"]).execute();
  for (const key of keys) {
    const row = await db
      .selectFrom("access_checkpoint_systems")
      .select("state")
      .where("seq", "=", key.seq)
      .where("system", "=", key.system)
      .executeTakeFirstOrThrow();
    const slice = JSON.parse(row.state) as { accounts: unknown[]; desired: OldDesired[] };
    await db
      .insertInto("access_checkpoint_accounts")
      .values({ seq: key.seq, system: key.system, state: JSON.stringify(slice.accounts) })
      .execute();
    const groups = new Map<string, OldDesired[]>();
    for (const d of slice.desired) {
      const entitlement = d.entitlement ?? "";
      const group = groups.get(entitlement);
      if (group === undefined) groups.set(entitlement, [d]);
      else group.push(d);
    }
    for (const [entitlement, list] of groups) {
      await db
        .insertInto("access_checkpoint_desired")
        .values({ seq: key.seq, system: key.system, entitlement, state: JSON.stringify(encodeDesired(list)) })
        .execute();
    }
  }
  await db.schema.dropTable("access_checkpoint_systems").execute();

  if (db.getExecutor().adapter instanceof SqliteAdapter) {
    await sql`create index audit_events_system_seq_idx on audit_events (json_extract(details, '$.system'), seq)`.execute(
      db,
    );
  } else {
    await sql`create index audit_events_system_seq_idx on audit_events (((details::jsonb) ->> 'system'), seq)`.execute(
      db,
    );
  }
}

interface OldDesired {
  username: string;
  entitlement: string | null;
  identityId: string | null;
  wanted: boolean;
  kind: string;
  why: string;
  operationId: string;
  stage: "queued" | "succeeded";
  seq: number;
  time: string;
}

// A copy of src/audit/access-checkpoint-slices.ts's encoding as of this migration.
function encodeDesired(list: readonly OldDesired[]) {
  const whys: string[] = [];
  const index = new Map<string, number>();
  const rows = list.map((d) => {
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

// biome-ignore lint/suspicious/noExplicitAny: as above.
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex("audit_events_system_seq_idx").execute();
  // The old form is not rebuilt: `tenure audit checkpoint` (or the audit-checkpoint job) takes a new one.
  await db.schema
    .createTable("access_checkpoint_systems")
    .addColumn("seq", "integer", (c) => c.notNull())
    .addColumn("system", "text", (c) => c.notNull())
    .addColumn("state", "text", (c) => c.notNull())
    .addPrimaryKeyConstraint("access_checkpoint_systems_pk", ["seq", "system"])
    .execute();
  await db.deleteFrom("access_checkpoints").execute();
  await db.schema.dropTable("access_checkpoint_desired").execute();
  await db.schema.dropTable("access_checkpoint_accounts").execute();
}
