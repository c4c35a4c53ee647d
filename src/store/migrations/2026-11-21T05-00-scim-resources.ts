import type { Kysely } from "kysely";

// The resources of Tenure's own SCIM 2.0 server (issue 5, item 4): Users and Groups as the pushing
// client (Entra ID, Okta, an HR system) wrote them. Never edit after landing.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("scim_resources")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("type", "text", (c) => c.notNull())
    // userName of a User, displayName of a Group, as given; `name_key` is its lower-case form, which
    // decides uniqueness (SCIM compares both case-insensitively) and serves `userName eq` lookups.
    .addColumn("name", "text", (c) => c.notNull())
    .addColumn("name_key", "text", (c) => c.notNull())
    .addColumn("external_id", "text")
    // A User's key in Tenure's push source (server.scim.key); null for Groups.
    .addColumn("person_key", "text")
    .addColumn("version", "integer", (c) => c.notNull())
    .addColumn("json", "text", (c) => c.notNull())
    .addColumn("created", "text", (c) => c.notNull())
    .addColumn("last_modified", "text", (c) => c.notNull())
    .addUniqueConstraint("scim_resources_name_uq", ["type", "name_key"])
    // Two Users may not stand for one person; NULLs (Groups) are distinct in both databases.
    .addUniqueConstraint("scim_resources_person_uq", ["type", "person_key"])
    .execute();
  // `externalId eq` is the other lookup Entra ID makes before every create.
  await db.schema
    .createIndex("scim_resources_external_id_idx")
    .on("scim_resources")
    .columns(["type", "external_id"])
    .execute();
  // Lists page through one type in id order (ids are time-ordered UUIDv7s).
  await db.schema
    .createIndex("scim_resources_type_id_idx")
    .on("scim_resources")
    .columns(["type", "id"])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable("scim_resources").execute();
}
