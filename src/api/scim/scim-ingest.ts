import { takesAccessAway } from "../../domain/lifecycle.js";
import { localDate } from "../../domain/local-date.js";
import type { RenamedKey } from "../../domain/sync-plan.js";
import { type IngestRowResult, ingestRecords } from "../../engine/ingest.js";
import type { ConnectorPool } from "../../engine/provision.js";
import type { WriteAlongside } from "../../engine/sync.js";
import type { PushSourceConfig, TenureConfig } from "../../policy/config-types.js";
import { createGroupCommit } from "../../shared/group-commit.js";
import { currentTraceId } from "../../shared/trace-context.js";
import { mapPushedRecords } from "../../sources/push/index.js";
import type { Store } from "../../store/database.js";
import type { IngestPerson } from "./scim-service.js";

/**
 * How many SCIM writes go to the push source as one push, and how many such pushes run at once. A push
 * costs mostly per push, not per person — its transaction, its ledger append, its reads and claims are
 * round trips whatever their rows — so 32 creates arriving together cost little more than one. Two at
 * once: one writes to the store while the other waits for its targets.
 */
export const SCIM_GROUP = { maxBatch: 32, maxInFlight: 2 } as const;

interface Pushed {
  row: Record<string, string | null>;
  now: Date;
  rename: RenamedKey | undefined;
  alongside: WriteAlongside | undefined;
  /** The trace id of the request that pushed it: its operations carry it, whoever's group ran it. */
  traceId: string | null;
}

/**
 * The SCIM server's way into the lifecycle: one User, as a record with Tenure attribute names, pushed
 * to the push source with `ingestRecords`, which maps and checks it like a CSV row, updates the
 * identity and handles its accounts before resolving — so a SCIM deactivation answers after the
 * person's accounts are disabled. A User whose key changed names its previous key, so the identity is
 * re-keyed rather than a second one made. `alongside` (a new User's resource) is written with the
 * push. `connectors` stay open across pushes (the server closes them).
 *
 * Writes for different people that arrive together (a burst from an identity provider) are grouped
 * into one push of several records (shared/group-commit.ts): each record is checked on its own (a
 * rejected one changes nothing, the others go on), its `alongside` is written only when it changed
 * its identity, and each write gets its own record's result. Writes of one actor only are grouped: the
 * audit records who pushed. A write that takes someone's access away is never grouped — it runs at once,
 * on its own (the push gate lets it in first). Mass-change protection judges every write alone as
 * before: a group it would stop is pushed again write by write, its stop not recorded.
 * When a grouped push fails, each write is pushed again on its own and gets its own answer: pushing a
 * record again is idempotent (an identity already written is unchanged; a User stored by the group's
 * commit is the one returned).
 */
export function createIngestPerson(
  store: Store,
  config: TenureConfig,
  source: PushSourceConfig,
  connectors: ConnectorPool,
  group: { maxBatch: number; maxInFlight: number } = SCIM_GROUP,
): IngestPerson {
  const push = async (
    actor: string,
    items: readonly Pushed[],
    grouped = false,
  ): Promise<IngestRowResult[]> => {
    const now = new Date(Math.max(...items.map((i) => i.now.getTime())));
    const { results } = await ingestRecords(store, config, {
      source: source.name,
      rows: items.map((i) => i.row),
      previousKeys: items.map((i) => i.rename ?? null),
      alongsideOf: items.map((i) => i.alongside),
      traceIdOf: items.map((i) => i.traceId),
      attributeNames: true,
      actor,
      now,
      connectors,
      grouped,
    });
    if (results.length !== items.length) {
      throw new Error(`ingestRecords returned ${results.length} results for ${items.length} records pushed`);
    }
    return results;
  };
  const pushOne = async (actor: string, item: Pushed) => (await push(actor, [item]))[0]!;
  const grouped = createGroupCommit<Pushed, IngestRowResult>({
    ...group,
    run: (actor, items) => push(actor, items, true),
    alone: pushOne,
  });
  return (row, actor, now, rename, alongside) => {
    const item = { row, now, rename, alongside, traceId: currentTraceId() };
    return takesAccess(source, row, now) ? pushOne(actor, item) : grouped.submit(actor, item);
  };
}

/** Whether the record takes the person's access away today: the test the push gate uses (engine/ingest.ts). */
function takesAccess(source: PushSourceConfig, row: Record<string, string | null>, now: Date): boolean {
  const today = localDate(now, source.timeZone);
  return mapPushedRecords(source, [row], { attributeNames: true }).some((c) =>
    takesAccessAway(c.attributes, today),
  );
}
