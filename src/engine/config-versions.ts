import { appendEvents, queryEvents } from "../audit/ledger.js";
import { configSource } from "../policy/config-source.js";
import type { TenureConfig } from "../policy/config-types.js";
import { type ConfigVersion, configVersionRepository } from "../store/config-version-repository.js";
import type { Store } from "../store/store-types.js";

/**
 * Which configuration was in force when: whenever Tenure opens its store with a configuration other than
 * the one it last ran with, the new one's text (secrets redacted, policy/config-source.ts) is stored by
 * its hash and a `config.loaded` event enters the ledger. The ledger's order is the timeline; the stored
 * text must hash to what the event says, so a rewritten text is detected.
 */

/**
 * Records `config` as the one in force from `now`, unless it already is. A config built in code (no
 * file) records nothing. Returns the hash in force.
 */
export async function recordConfigInForce(
  store: Store,
  config: TenureConfig,
  now: Date,
  actor: string,
): Promise<string | null> {
  const source = configSource(config);
  if (source === undefined) return null;
  const current = await configVersionRepository.latest(store.db);
  if (current?.hash === source.hash) return source.hash;
  const at = now.toISOString();
  await store.db.transaction().execute(async (trx) => {
    // Read again under the transaction: two processes starting at once record one change.
    const again = await configVersionRepository.latest(trx);
    if (again?.hash === source.hash) return;
    await configVersionRepository.loaded(trx, source, at);
    await appendEvents(trx, [
      {
        time: at,
        actor,
        action: "config.loaded",
        subject: `config:${source.hash}`,
        details: {
          hash: source.hash,
          path: source.path,
          lines: source.text.split("\n").length,
          previous: again?.hash ?? null,
        },
      },
    ]);
  });
  return source.hash;
}

/** The configuration in force at `at`, from the ledger's `config.loaded` events; undefined before the first. */
export async function configAt(
  store: Store,
  at: Date,
): Promise<(ConfigVersion & { since: string }) | undefined> {
  let last: { hash: string; since: string } | undefined;
  let afterSeq: number | undefined;
  for (;;) {
    const page = await queryEvents(store.db, {
      action: "config.loaded",
      until: new Date(at.getTime() + 1).toISOString(),
      limit: 1000,
      ...(afterSeq === undefined ? {} : { afterSeq }),
    });
    for (const e of page) last = { hash: String(e.details.hash), since: e.time };
    if (page.length < 1000) break;
    afterSeq = page[page.length - 1]!.seq;
  }
  if (last === undefined) return undefined;
  const version = await configVersionRepository.find(store.db, last.hash);
  return version === undefined ? undefined : { ...version, since: last.since };
}

/** Every configuration in force during [from, to): the one in force at `from` and each loaded after. */
export async function configsDuring(
  store: Store,
  from: Date,
  to: Date,
): Promise<Array<ConfigVersion & { since: string }>> {
  const out: Array<ConfigVersion & { since: string }> = [];
  const first = await configAt(store, from);
  if (first !== undefined) out.push(first);
  const events = await queryEvents(store.db, {
    action: "config.loaded",
    since: new Date(from.getTime() + 1).toISOString(),
    until: to.toISOString(),
    limit: 100_000,
  });
  for (const e of events) {
    const version = await configVersionRepository.find(store.db, String(e.details.hash));
    if (version !== undefined) out.push({ ...version, since: e.time });
  }
  return out;
}
