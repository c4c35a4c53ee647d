import { ingestRecords } from "../../engine/ingest.js";
import type { ConnectorPool } from "../../engine/provision.js";
import type { PushSourceConfig, TenureConfig } from "../../policy/config-types.js";
import type { Store } from "../../store/database.js";
import type { IngestPerson } from "./scim-service.js";

/**
 * The SCIM server's way into the lifecycle: one User, as a record with Tenure attribute names, pushed
 * to the push source with `ingestRecords`, which maps and checks it like a CSV row, updates the
 * identity and handles its accounts before resolving — so a SCIM deactivation answers after the
 * person's accounts are disabled. A User whose key changed names its previous key, so the identity is
 * re-keyed rather than a second one made. `alongside` (a new User's resource) is written with the
 * push. `connectors` stay open across pushes (the server closes them).
 */
export function createIngestPerson(
  store: Store,
  config: TenureConfig,
  source: PushSourceConfig,
  connectors: ConnectorPool,
): IngestPerson {
  return async (row, actor, now, rename, alongside) => {
    const { results } = await ingestRecords(store, config, {
      source: source.name,
      rows: [row],
      ...(rename !== undefined ? { previousKeys: [rename] } : {}),
      ...(alongside !== undefined ? { alongside } : {}),
      attributeNames: true,
      actor,
      now,
      connectors,
    });
    const [result] = results;
    if (result === undefined) throw new Error("ingestRecords returned no result for the one record pushed");
    return result;
  };
}
