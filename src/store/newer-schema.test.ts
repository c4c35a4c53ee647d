import { sql } from "kysely";
import { describe, expect, it } from "vitest";
import { storeFactories } from "../../test/helpers/databases.js";
import { migrate } from "./database.js";

/**
 * docs/operations.md ("Upgrades") promises that a process of an older version refuses a database a newer
 * version has migrated, with an error that says so, rather than writing to a schema it does not know.
 */
describe.each(await storeFactories())("a database migrated by a newer version (%s)", (_name, factory) => {
  it("is refused with an error that names the unknown migration and what to do", async () => {
    const store = await factory();
    try {
      await sql`insert into kysely_migration (name, timestamp) values ('2099-01-01T00-00-from-the-future', '2099-01-01T00:00:00.000Z')`.execute(
        store.db,
      );
      const refused = migrate(store.db, store.schema);
      await expect(refused).rejects.toMatchObject({ code: "migration_failed" });
      await expect(refused).rejects.toThrow(
        /migrated by a newer version of Tenure \(its migration 2099-01-01T00-00-from-the-future is unknown to this version\); run the newer version, or restore a backup/,
      );
    } finally {
      await store.dispose();
    }
  });
});
