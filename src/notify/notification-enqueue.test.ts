import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { storeFactories, type TestStore } from "../../test/helpers/databases.js";
import { InvalidInputError } from "../shared/errors.js";
import {
  type NotificationRecord,
  notificationRepository as outbox,
} from "../store/notification-repository.js";
import { enqueueNotifications, enqueueNotificationsMany } from "./notification-enqueue.js";
import type { NotificationEvent } from "./notification-events.js";
import type { NotifyConfig } from "./notify-config.js";

/**
 * The batch form queues what enqueueing the same events one after another queues: the same messages,
 * the same duplicates (keys queued before, and keys repeated in the batch) and the same skipped targets.
 */

const T0 = new Date("2026-12-04T09:00:00.000Z");

const NOTIFY: NotifyConfig = {
  email: null,
  webhooks: {
    secops: {
      name: "secops",
      url: "http://127.0.0.1:9/hook",
      format: "slack",
      secret: null,
      timeoutSeconds: 5,
    },
  },
  routes: {
    "sod.violation": [{ email: ["{{to}}"] }, { webhook: "secops" }],
    "sod.exception-ended": [{ email: ["{{to}}", "audit@example.test"] }],
  },
  templates: { "sod.violation": { subject: "SoD {{rule}}: {{holder}} <{{severity}}>" } },
  retry: { maxAttempts: 4, baseDelaySeconds: 60, maxDelaySeconds: 600 },
  unreachableWindowMinutes: 60,
};
const config = { notify: NOTIFY };

const violation = (id: string, to: string | null, holder = "Ada *Clerk*"): NotificationEvent => ({
  name: "sod.violation",
  data: {
    violationId: id,
    to,
    rule: "vendor-payment",
    severity: "high",
    risk: "Can create a vendor and approve its payment",
    holder,
    access: "erp:vendor-create (found) with erp:payment-approve (found)",
    status: "open",
    link: `tenure sod show ${id}`,
  },
});

const ended = (id: string): NotificationEvent => ({
  name: "sod.exception-ended",
  data: {
    exceptionId: id,
    to: null,
    rule: "vendor-payment",
    holder: "Ada Clerk",
    how: "expired",
    at: T0.toISOString(),
    control: "monthly review",
  },
});

/** A message without what differs between two stores (its id). */
const content = (m: NotificationRecord) => ({ ...m, id: "" });

describe.each(await storeFactories())("enqueueNotificationsMany on %s", (_name, makeStore) => {
  let one: TestStore;
  let many: TestStore;
  beforeEach(async () => {
    one = await makeStore();
    many = await makeStore();
  });
  afterEach(async () => {
    await one.dispose();
    await many.dispose();
  });

  it("queues what one call per event queues, duplicates within the batch and from before included", async () => {
    const before = [violation("v0", "owner@example.test")];
    const batch = [
      violation("v1", "owner@example.test"),
      // Queued before the batch: both its messages are duplicates.
      violation("v0", "owner@example.test"),
      // Repeated within the batch: the first is queued, the second is a duplicate.
      violation("v2", "other@example.test"),
      violation("v2", "other@example.test", "someone else"),
      // No owner address: the email target is skipped, the webhook is queued.
      violation("v3", null),
      ended("e1"),
    ];
    for (const store of [one, many]) {
      await enqueueNotifications(store.db, before[0]!, config, T0);
    }

    const oneByOne = {
      queued: [] as NotificationRecord[],
      duplicates: [] as string[],
      skipped: [] as unknown[],
    };
    for (const event of batch) {
      const r = await enqueueNotifications(one.db, event, config, T0);
      oneByOne.queued.push(...r.queued);
      oneByOne.duplicates.push(...r.duplicates);
      oneByOne.skipped.push(...r.skipped);
    }
    const together = await many.db
      .transaction()
      .execute((trx) => enqueueNotificationsMany(trx, batch, config, T0));

    expect(together.queued.map(content)).toEqual(oneByOne.queued.map(content));
    // The same keys; the order of `duplicates` is not part of the contract.
    expect([...together.duplicates].sort()).toEqual([...oneByOne.duplicates].sort());
    expect(together.skipped).toEqual(oneByOne.skipped);
    expect([...together.duplicates].sort()).toEqual([
      "sod.violation:v0:open|email:owner@example.test",
      "sod.violation:v0:open|webhook:secops",
      "sod.violation:v2:open|email:other@example.test",
      "sod.violation:v2:open|webhook:secops",
    ]);
    expect(together.skipped).toEqual([
      { target: "email {{to}}", reason: "no recipient: the event's data has no address for it" },
    ]);
    // The template override, Slack escaping on the webhook, the second address of the route.
    expect(together.queued.map((m) => [m.channel, m.recipient, m.subject])).toEqual([
      ["email", "owner@example.test", "SoD vendor-payment: Ada *Clerk* <high>"],
      ["webhook", "secops", "SoD vendor-payment: Ada *Clerk* <high>"],
      ["email", "other@example.test", "SoD vendor-payment: Ada *Clerk* <high>"],
      ["webhook", "secops", "SoD vendor-payment: Ada *Clerk* <high>"],
      ["webhook", "secops", "SoD vendor-payment: Ada *Clerk* <high>"],
      ["email", "audit@example.test", expect.stringContaining("has expired")],
    ]);
    const stored = async (store: TestStore) =>
      (await outbox.list(store.db, { limit: 1000 }))
        .map(content)
        .sort((a, b) => (a.dedupeKey < b.dedupeKey ? -1 : 1));
    expect(await stored(many)).toEqual(await stored(one));
  });

  it("checks every event before writing: one with the wrong shape queues nothing of the batch", async () => {
    const bad = { name: "sod.violation", data: { violationId: "v9" } } as unknown as NotificationEvent;
    await expect(
      enqueueNotificationsMany(many.db, [violation("v1", "owner@example.test"), bad], config, T0),
    ).rejects.toBeInstanceOf(InvalidInputError);
    expect(await outbox.list(many.db)).toEqual([]);
  });

  it("queues nothing for no events, or events with no route", async () => {
    expect(await enqueueNotificationsMany(many.db, [], config, T0)).toEqual({
      queued: [],
      duplicates: [],
      skipped: [],
    });
    expect(await enqueueNotificationsMany(many.db, [violation("v1", "o@example.test")], {}, T0)).toEqual({
      queued: [],
      duplicates: [],
      skipped: [],
    });
    expect(await outbox.list(many.db)).toEqual([]);
  });
});
