import type { Command } from "commander";
import { workerId } from "../../engine/provision.js";
import {
  type DeliveryResult,
  deliverNotifications,
  sendTestNotification,
} from "../../notify/notification-delivery.js";
import { loadConfig } from "../../policy/config-loader.js";
import { UsageError } from "../../shared/errors.js";
import { cliActor, configPath, globalOptions, now, outputFor, withStore } from "../context.js";
import { type Output, printJson, println } from "../output.js";
import { createProgress } from "../progress.js";

function printDelivery(o: Output, result: DeliveryResult): void {
  if (o.json) {
    printJson(o, result);
    return;
  }
  const s = result.summary;
  println(
    o,
    `notifications: ${s.sent} sent, ${s.failed} failed (will retry), ${s.dead} dead` +
      (s.skipped > 0 ? `, ${s.skipped} not recorded (will be tried again)` : ""),
  );
  for (const r of result.outcomes) {
    if (r.outcome === "sent") continue;
    const when = r.nextAttemptAt === undefined ? "" : ` (next attempt ${r.nextAttemptAt})`;
    println(o, `  ${r.outcome}: ${r.event} → ${r.channel} ${r.recipient}: ${r.error ?? ""}${when}`);
  }
}

function positiveInteger(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1)
    throw new UsageError(`--limit: expected a whole number, at least 1; got "${value}"`);
  return n;
}

export function registerNotify(program: Command): void {
  const notify = program
    .command("notify")
    .description("notifications (email, webhooks): deliver the queued ones, send a test message");

  notify
    .command("deliver")
    .description(
      "send every notification that is due, once; a failed one stays queued and is retried later, with backoff",
    )
    .option("--limit <count>", "send at most this many", positiveInteger)
    .action(async (opts: { limit?: number }, cmd: Command) => {
      const g = globalOptions(cmd);
      const o = outputFor(g);
      const progress = createProgress(!o.json, "notify");
      try {
        const at = now();
        const result = await withStore(g, ({ config, store }) =>
          deliverNotifications(
            {
              store,
              notify: config.notify,
              now: () => at,
              workerId: workerId(),
              actor: cliActor(),
              onProgress: (outcome, done) => progress.update(done, undefined, outcome.event),
            },
            opts.limit === undefined ? {} : { limit: opts.limit },
          ),
        );
        progress.stop();
        printDelivery(o, result);
        if (result.summary.dead > 0) process.exitCode = 1;
      } finally {
        progress.stop();
      }
    });

  notify
    .command("test")
    .description("send a test message through one channel now, bypassing the queue, to check its settings")
    .requiredOption("--channel <name>", "email, or the name of a webhook under notify.webhooks")
    .option("--to <address...>", "for --channel email: who receives the message")
    .action(async (opts: { channel: string; to?: string[] }, cmd: Command) => {
      const g = globalOptions(cmd);
      const o = outputFor(g);
      const config = await loadConfig(configPath(g));
      const recipient = await sendTestNotification(
        config.notify,
        { channel: opts.channel, ...(opts.to === undefined ? {} : { to: opts.to }) },
        now(),
      );
      if (o.json) printJson(o, { channel: opts.channel, recipient, sent: true });
      else println(o, `test message sent through ${opts.channel} to ${recipient}`);
    });
}
