import type { AuditPublishConfig, AuditSigningConfig } from "../audit/audit-config.js";
import { publishLedgerHead } from "../audit/ledger-publish.js";
import { loadSigningKey } from "../audit/ledger-signing.js";
import type { TenureConfig } from "../policy/config-types.js";
import { TenureError } from "../shared/errors.js";
import type { Store } from "../store/database.js";
import type { ScheduledJob } from "./scheduler.js";

/**
 * `audit-publish`: signs the ledger head and publishes it to every sink of `audit.publish.to`
 * (docs/audit-verify.md). A sink that fails keeps its heads pending and is retried at the next run;
 * the run is then recorded as failed, naming the sink, while the other sinks still got the head.
 */
export function ledgerPublishJob(
  deps: { store: Pick<Store, "db">; config: Pick<TenureConfig, "notify">; actor: string },
  signing: AuditSigningConfig,
  publish: AuditPublishConfig,
): ScheduledJob {
  const { store, config, actor } = deps;
  return {
    name: "audit-publish",
    pattern: publish.schedule,
    description: `sign the audit ledger's head and publish it (${publish.to.map((s) => s.kind).join(", ")})`,
    async run({ now }) {
      const result = await publishLedgerHead(store.db, {
        key: loadSigningKey(signing.key),
        sinks: publish.to,
        now,
        actor,
        emailMaxAttempts: config.notify?.retry.maxAttempts ?? 10,
      });
      if (result.failed.length > 0) {
        const failures = result.failed.map((f) => `${f.sink} (event ${f.seq}): ${f.error}`).join("; ");
        throw new TenureError(
          "head_publish_failed",
          `${result.delivered.length} deliveries made, ${result.failed.length} failed and are retried at the next run: ${failures}`,
        );
      }
      return { published: result.published?.seq ?? null, delivered: result.delivered.length };
    },
  };
}
