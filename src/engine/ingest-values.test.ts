/**
 * A JSON push obeys the value rules of every source, on SQLite and PostgreSQL: a control character or
 * an over-long value rejects the record (its field named) and changes nothing in the store or the
 * ledger; an NFD key or a trailing space reaches the person stored under the NFC key.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { storeFactories, type TestStore } from "../../test/helpers/databases.js";
import { queryEvents } from "../audit/ledger.js";
import { EMPTY_POLICY } from "../policy/config-schema.js";
import type { TenureConfig } from "../policy/config-types.js";
import { DEFAULT_LIFECYCLE } from "../policy/sections/lifecycle-section.js";
import { DEFAULT_SERVER } from "../policy/sections/server-section.js";
import { defaultPushSource } from "../policy/sections/sources-section.js";
import { identityRepository } from "../store/identity-repository.js";
import { ingestRecords } from "./ingest.js";

const NOW = new Date("2026-03-02T10:00:00Z");
const config: TenureConfig = {
  path: "/nowhere/tenure.yaml",
  baseDir: "/nowhere",
  database: "sqlite::memory:",
  sources: { hr: defaultPushSource("hr") },
  lifecycle: DEFAULT_LIFECYCLE,
  policy: EMPTY_POLICY,
  server: DEFAULT_SERVER,
};

const person = (key: string, extra: Record<string, string | null> = {}) => ({
  employeeId: key,
  givenName: "Zoë",
  familyName: "Łukasik",
  email: "zoe@example.test",
  ...extra,
});

describe.each(await storeFactories())("push values on %s", (_name, makeStore) => {
  let store: TestStore;
  beforeEach(async () => {
    store = await makeStore();
  });
  afterEach(() => store.dispose());

  const push = (rows: Record<string, string | null>[]) =>
    ingestRecords(store, config, { source: "hr", rows, actor: "test", now: NOW });

  it("rejects a record with a control character or an over-long value, naming the field; nothing changes", async () => {
    await push([person("\u00C91")]);
    const identities = await identityRepository.listBySource(store.db, "hr");
    const events = await queryEvents(store.db, {});
    const { results } = await push([
      person("\u00C91", { givenName: "Zo\u0000ë" }),
      person("E2", { email: "e2@example.test", title: "x".repeat(1025) }),
    ]);
    expect(results.map((r) => [r.status, r.findings.map((f) => [f.code, f.field])])).toEqual([
      ["rejected", [["control_character", "givenName"]]],
      ["rejected", [["too_long", "title"]]],
    ]);
    expect(await identityRepository.listBySource(store.db, "hr")).toEqual(identities);
    expect(await queryEvents(store.db, {})).toHaveLength(events.length);
  });

  it("an NFD key or a trailing space is the person stored under the NFC key", async () => {
    await push([person("\u00C91")]);
    const { results } = await push([person("E\u03011 ", { title: "Lead" })]);
    expect(results.map((r) => [r.key, r.status])).toEqual([["\u00C91", "updated"]]);
    const all = await identityRepository.listBySource(store.db, "hr");
    expect(all.map((i) => [i.sourceKey, i.attributes.title])).toEqual([["\u00C91", "Lead"]]);
  });
});
