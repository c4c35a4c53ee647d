import type { Kysely } from "kysely";

// Issue 11, point 9: the identities listing filters and pages in SQL. Attributes are JSON text, read the
// same on both databases only in JS, so the two values a listing filters on are kept beside them,
// written with every identity: `department` as in the attributes, and `search_text`, the lowercased
// key, email, display name and id a search matches (one per line). Indexes end in `id`, the cursor.
// Never edit after landing.
// biome-ignore lint/suspicious/noExplicitAny: a migration sees the schema of its own day, not today's types.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable("identities").addColumn("department", "text").execute();
  await db.schema
    .alterTable("identities")
    .addColumn("search_text", "text", (c) => c.notNull().defaultTo(""))
    .execute();
  // Backfill in id order, a batch at a time, so a large store is not read into memory at once.
  let after = "";
  for (;;) {
    const rows: { id: string; source_key: string; email: string | null; attributes: string }[] = await db
      .selectFrom("identities")
      .select(["id", "source_key", "email", "attributes"])
      .where("id", ">", after)
      .orderBy("id")
      .limit(1000)
      .execute();
    if (rows.length === 0) break;
    for (const row of rows) {
      const attributes = JSON.parse(row.attributes) as { department?: string | null; displayName?: string };
      const searchText = [row.source_key, row.email, attributes.displayName, row.id]
        .filter((v): v is string => typeof v === "string")
        .map((v) => v.toLowerCase())
        .join("\n");
      await db
        .updateTable("identities")
        .set({ department: attributes.department ?? null, search_text: searchText })
        .where("id", "=", row.id)
        .execute();
    }
    after = rows.at(-1)!.id;
  }
  await db.schema
    .createIndex("identities_department_id_idx")
    .on("identities")
    .columns(["department", "id"])
    .execute();
  await db.schema.createIndex("identities_state_id_idx").on("identities").columns(["state", "id"]).execute();
  await db.schema
    .createIndex("identities_source_id_idx")
    .on("identities")
    .columns(["source", "id"])
    .execute();
}

// biome-ignore lint/suspicious/noExplicitAny: as above.
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex("identities_source_id_idx").execute();
  await db.schema.dropIndex("identities_state_id_idx").execute();
  await db.schema.dropIndex("identities_department_id_idx").execute();
  await db.schema.alterTable("identities").dropColumn("search_text").execute();
  await db.schema.alterTable("identities").dropColumn("department").execute();
}
