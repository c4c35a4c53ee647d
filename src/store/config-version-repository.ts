import type { Db } from "./schema-types.js";

/** A configuration Tenure ran with, as stored: its text with secrets redacted, and its hash. */
export interface ConfigVersion {
  hash: string;
  path: string;
  text: string;
  firstLoadedAt: string;
  lastLoadedAt: string;
}

export const configVersionRepository = {
  /** The configuration loaded last (the one in force now), if any was recorded. */
  async latest(db: Db): Promise<ConfigVersion | undefined> {
    const row = await db
      .selectFrom("config_versions")
      .selectAll()
      .orderBy("last_loaded_at", "desc")
      .limit(1)
      .executeTakeFirst();
    return row === undefined ? undefined : fromRow(row);
  },

  async find(db: Db, hash: string): Promise<ConfigVersion | undefined> {
    const row = await db
      .selectFrom("config_versions")
      .selectAll()
      .where("hash", "=", hash)
      .executeTakeFirst();
    return row === undefined ? undefined : fromRow(row);
  },

  /** Records `hash` as loaded at `at`: a new version, or one loaded before coming back into force. */
  async loaded(db: Db, version: { hash: string; path: string; text: string }, at: string): Promise<void> {
    await db
      .insertInto("config_versions")
      .values({
        hash: version.hash,
        path: version.path,
        text: version.text,
        first_loaded_at: at,
        last_loaded_at: at,
      })
      .onConflict((oc) => oc.column("hash").doUpdateSet({ last_loaded_at: at, path: version.path }))
      .execute();
  },
};

function fromRow(r: {
  hash: string;
  path: string;
  text: string;
  first_loaded_at: string;
  last_loaded_at: string;
}): ConfigVersion {
  return {
    hash: r.hash,
    path: r.path,
    text: r.text,
    firstLoadedAt: r.first_loaded_at,
    lastLoadedAt: r.last_loaded_at,
  };
}
