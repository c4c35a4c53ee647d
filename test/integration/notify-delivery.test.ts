// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these strings are tenure.yaml text, where ${env:…} is a literal reference.
/**
 * Notifications end to end against real servers on loopback: an SMTP server (`smtp-server`, requiring
 * AUTH) receives the email, a `node:http` receiver the Slack and JSON webhooks. Queued through the
 * engine's entry points, delivered by `deliverNotifications`, on SQLite and PostgreSQL: what arrives,
 * retries while a receiver is down, dead after the last attempt (audited), two deliverers at once,
 * and secrets never in `last_error`, outcomes or audit events.
 */

import { randomBytes } from "node:crypto";
import path from "node:path";
import BetterSqlite3 from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { queryEvents } from "../../src/audit/ledger.js";
import { provision } from "../../src/engine/provision.js";
import { syncSource } from "../../src/engine/sync.js";
import { type DeliveryDeps, deliverNotifications } from "../../src/notify/notification-delivery.js";
import {
  enqueueContractorExpiryWarning,
  notifyConnectorUnreachable,
  notifyOperationDead,
} from "../../src/notify/notification-enqueue.js";
import { validateConfigText } from "../../src/policy/config-loader.js";
import type { NotifyConfig, TenureConfig } from "../../src/policy/config-types.js";
import { MassChangeError } from "../../src/shared/errors.js";
import { openStore, type Store } from "../../src/store/database.js";
import { notificationRepository as outbox } from "../../src/store/notification-repository.js";
import { createAppDatabase } from "../fixtures/app-database.js";
import { freshPostgresUrl, storeFactories, type TestStore } from "../helpers/databases.js";
import { type HttpReceiver, startHttpReceiver } from "../helpers/http-receiver.js";
import { freePort } from "../helpers/net.js";
import { type SmtpSink, startSmtpSink } from "../helpers/smtp-sink.js";
import { tempDir, testConfig, writeHrCsv } from "../helpers/workspace.js";

const T0 = new Date("2026-12-01T09:00:00.000Z");
const at = (minutes: number) => new Date(T0.getTime() + minutes * 60_000);
const SMTP_USER = "alerts";
const SMTP_PASSWORD = `smtp-${randomBytes(8).toString("hex")}`;
const SLACK_TOKEN = `xoxTOKEN${randomBytes(12).toString("hex")}`;

/**
 * A tenure.yaml whose notify section sends to the sink and the receiver, loaded as the CLI loads it;
 * secrets come from the environment. `extra` lines are added before it (systems, say).
 */
async function loadTestConfig(
  smtpPort: number,
  receiverBase: string,
  options: { password?: string; maxAttempts?: number; extra?: readonly string[]; dir?: string } = {},
): Promise<TenureConfig> {
  const yaml = [
    ...(options.extra ?? []),
    "notify:",
    "  email:",
    `    smtp: "smtp://${SMTP_USER}:\${env:SMTP_PASSWORD}@127.0.0.1:${smtpPort}"`,
    '    from: "Tenure <tenure@example.test>"',
    "    timeoutSeconds: 5",
    "  webhooks:",
    "    slack-secops:",
    '      url: "${env:SLACK_WEBHOOK}"',
    "      timeoutSeconds: 5",
    "    siem:",
    `      url: ${receiverBase}/siem`,
    "      format: json",
    "  routes:",
    "    operation.dead:",
    "      - email: [secops@example.test, oncall@example.test]",
    "      - webhook: slack-secops",
    "    mass-change.stopped:",
    "      - email: [secops@example.test]",
    "    contractor.expiry-warning:",
    '      - email: ["{{managerEmail}}", hr@example.test]',
    "    connector.unreachable:",
    "      - webhook: siem",
    `  retry: { maxAttempts: ${options.maxAttempts ?? 3}, baseDelaySeconds: 60, maxDelaySeconds: 600 }`,
    "  unreachableWindowMinutes: 30",
  ].join("\n");
  const env = {
    SMTP_PASSWORD: options.password ?? SMTP_PASSWORD,
    SLACK_WEBHOOK: `${receiverBase}/services/T0000/B0000/${SLACK_TOKEN}`,
  };
  const file = path.join(options.dir ?? "/tmp", "tenure.yaml");
  const { config, errors } = await validateConfigText(yaml, { path: file, env });
  expect(errors).toEqual([]);
  return config!;
}

async function notifyConfig(
  smtpPort: number,
  receiverBase: string,
  options: { password?: string; maxAttempts?: number } = {},
): Promise<NotifyConfig> {
  return (await loadTestConfig(smtpPort, receiverBase, options)).notify!;
}

const deadOp = {
  id: "op-1",
  system: "wiki",
  kind: "disable",
  username: "ada<b>&lovelace",
  identityId: "id-ada",
  entitlement: null,
  attempts: 5,
};

describe.each(await storeFactories())("notification delivery on %s", (_name, makeStore) => {
  let store: TestStore;
  let sink: SmtpSink;
  let receiver: HttpReceiver;
  let notify: NotifyConfig;
  beforeEach(async () => {
    store = await makeStore();
    sink = await startSmtpSink({ user: SMTP_USER, pass: SMTP_PASSWORD });
    receiver = await startHttpReceiver();
    notify = await notifyConfig(sink.port, receiver.base);
  });
  afterEach(async () => {
    await Promise.all([store.dispose(), sink.stop(), receiver.stop()]);
  });

  const deliver = (now: Date, extra: Partial<DeliveryDeps> = {}) =>
    deliverNotifications({
      store,
      notify,
      now: () => now,
      random: () => 0.5,
      workerId: "test-deliverer",
      ...extra,
    });

  it("sends operation.dead by email (with SMTP AUTH) and as Slack JSON, escaped for mrkdwn", async () => {
    const queued = await store.db
      .transaction()
      .execute((trx) => notifyOperationDead(trx, deadOp, "wiki: HTTP 503 <html>", { notify }, T0));
    expect(queued.queued.map((m) => [m.channel, m.recipient])).toEqual([
      ["email", "secops@example.test, oncall@example.test"],
      ["webhook", "slack-secops"],
    ]);

    const result = await deliver(T0);
    expect(result.summary).toEqual({ claimed: 2, sent: 2, failed: 0, dead: 0, skipped: 0, released: 0 });

    const [mail] = await sink.waitFor(1);
    expect(mail).toMatchObject({
      from: "tenure@example.test",
      to: ["secops@example.test", "oncall@example.test"],
      user: SMTP_USER,
      subject: "Tenure: disable ada<b>&lovelace in wiki failed for good",
    });
    expect(mail!.headers.from).toBe("Tenure <tenure@example.test>");
    expect(mail!.text).toContain("The disable of ada<b>&lovelace in wiki failed 5 times");
    expect(mail!.text).toContain("Last error: wiki: HTTP 503 <html>");
    expect(mail!.text).toContain("Entitlement: (none)");

    expect(receiver.received).toHaveLength(1);
    const post = receiver.received[0]!;
    expect(post.method).toBe("POST");
    expect(post.url).toBe(`/services/T0000/B0000/${SLACK_TOKEN}`);
    expect(post.headers["content-type"]).toBe("application/json");
    const slack = JSON.parse(post.body) as {
      text: string;
      blocks: Array<{ type: string; text: { type: string; text: string } }>;
    };
    expect(slack.text).toBe("Tenure: disable ada&lt;b&gt;&amp;lovelace in wiki failed for good");
    expect(slack.blocks[0]).toEqual({
      type: "header",
      text: { type: "plain_text", text: "Tenure: disable ada<b>&lovelace in wiki failed for good" },
    });
    expect(slack.blocks[1]?.text.type).toBe("mrkdwn");
    expect(slack.blocks[1]?.text.text).toContain("ada&lt;b&gt;&amp;lovelace");
    expect(slack.blocks[1]?.text.text).toContain("wiki: HTTP 503 &lt;html&gt;");

    const rows = await outbox.list(store.db);
    expect(rows.map((r) => [r.state, r.attempts, r.sentAt])).toEqual([
      ["sent", 1, T0.toISOString()],
      ["sent", 1, T0.toISOString()],
    ]);
  });

  it("keeps a message while its receiver is down and delivers it when it comes back", async () => {
    const port = await freePort();
    const down = await startHttpReceiver(port, { listen: false });
    notify = await notifyConfig(sink.port, down.base);
    try {
      await store.db
        .transaction()
        .execute((trx) => notifyConnectorUnreachable(trx, "ldap", "ldap: ECONNREFUSED", { notify }, T0));

      const refused = await deliver(T0);
      expect(refused.summary).toMatchObject({ claimed: 1, failed: 1, sent: 0 });
      const [first] = await outbox.list(store.db);
      expect(first).toMatchObject({ state: "pending", attempts: 1 });
      expect(first!.lastError).toContain(`webhook siem: POST http://127.0.0.1:${port}/…`);
      expect(first!.lastError).toContain("ECONNREFUSED");
      // Backoff: attempt 1 waits half (random 0.5) of 60 s.
      expect(first!.nextAttemptAt).toBe(new Date(T0.getTime() + 30_000).toISOString());
      expect((await deliver(T0)).summary.claimed).toBe(0);

      await down.start();
      down.queue.push(500);
      const failing = await deliver(at(1));
      expect(failing.outcomes[0]).toMatchObject({ outcome: "failed", attempts: 2 });
      expect(failing.outcomes[0]?.error).toContain("answered HTTP 500: receiver_down");

      const back = await deliver(at(10));
      expect(back.summary).toMatchObject({ claimed: 1, sent: 1 });
      expect(down.received).toHaveLength(2);
      const body = JSON.parse(down.received[1]!.body);
      expect(body).toMatchObject({
        id: first!.id,
        event: "connector.unreachable",
        subject: "Tenure cannot reach ldap",
        data: { system: "ldap", error: "ldap: ECONNREFUSED", since: T0.toISOString() },
      });
      expect(await outbox.find(store.db, first!.id)).toMatchObject({ state: "sent", attempts: 3 });
    } finally {
      await down.stop();
    }
  });

  it("marks a message dead after its last attempt, with an audit event, keeping it and its error", async () => {
    receiver.status = 503;
    await store.db
      .transaction()
      .execute((trx) => notifyConnectorUnreachable(trx, "crm", "crm: timeout", { notify }, T0));
    const outcomes = [];
    for (const minutes of [0, 10, 20]) outcomes.push(...(await deliver(at(minutes))).outcomes);
    expect(outcomes.map((o) => o.outcome)).toEqual(["failed", "failed", "dead"]);
    expect((await deliver(at(60))).summary.claimed).toBe(0);

    const [row] = await outbox.list(store.db);
    expect(row).toMatchObject({ state: "dead", attempts: 3 });
    expect(row!.lastError).toContain("answered HTTP 503");
    const events = await queryEvents(store.db, { action: "notification.dead" });
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      actor: "notifier:test-deliverer",
      subject: `notification:${row!.id}`,
      details: {
        notificationId: row!.id,
        event: "connector.unreachable",
        channel: "webhook",
        recipient: "siem",
        attempts: 3,
        maxAttempts: 3,
        error: row!.lastError,
      },
    });
  });

  it("never lets the SMTP password or the Slack token into errors, outcomes or the audit", async () => {
    // The SMTP server refuses the password; the Slack receiver is gone; both run out of attempts.
    const port = await freePort();
    notify = await notifyConfig(sink.port, `http://127.0.0.1:${port}`, {
      password: `${SMTP_PASSWORD}-wrong`,
      maxAttempts: 2,
    });
    await store.db.transaction().execute((trx) => notifyOperationDead(trx, deadOp, "boom", { notify }, T0));
    const outcomes = [...(await deliver(T0)).outcomes, ...(await deliver(at(10))).outcomes];
    expect(outcomes.map((o) => o.outcome).sort()).toEqual(["dead", "dead", "failed", "failed"]);
    expect(sink.refusedLogins).toContain(SMTP_USER);
    expect(sink.messages).toEqual([]);

    const rows = await outbox.list(store.db);
    const email = rows.find((r) => r.channel === "email");
    expect(email?.lastError).toMatch(/^email via 127\.0\.0\.1:\d+: EAUTH/);
    const everything = JSON.stringify([
      outcomes,
      rows.map((r) => r.lastError),
      await queryEvents(store.db, { action: "notification.dead" }),
    ]);
    expect(everything).not.toContain(SMTP_PASSWORD);
    expect(everything).not.toContain(SLACK_TOKEN);
    expect(everything).not.toContain("/services/");
  });

  it("warns a contractor's manager once per end date, and HR when there is no manager", async () => {
    const warn = (identity: string, managerEmail: string | null, endDate = "2026-12-15") =>
      store.db
        .transaction()
        .execute((trx) =>
          enqueueContractorExpiryWarning(
            trx,
            { identity, name: "Zoë O'Brien-Łukasik", endDate, daysLeft: 14, managerEmail },
            { notify },
            T0,
          ),
        );
    expect((await warn("id-zoe", "grace@example.test")).queued).toHaveLength(1);
    // The scheduler warns every day of the warning period: queued once.
    const again = await warn("id-zoe", "grace@example.test");
    expect(again.queued).toEqual([]);
    expect(again.duplicates).toHaveLength(1);
    expect((await warn("id-eve", null)).queued.map((m) => m.recipient)).toEqual(["hr@example.test"]);

    expect((await deliver(T0)).summary.sent).toBe(2);
    const mails = await sink.waitFor(2);
    const zoe = mails.find((m) => m.to.includes("grace@example.test"));
    expect(zoe).toMatchObject({
      to: ["grace@example.test", "hr@example.test"],
      subject: "Contract of Zoë O'Brien-Łukasik ends on 2026-12-15",
    });
    expect(zoe?.text).toContain("The contract of Zoë O'Brien-Łukasik ends on 2026-12-15, in 14 days.");
    expect(mails.find((m) => m.to.length === 1)?.to).toEqual(["hr@example.test"]);
  });

  it("sends one connector.unreachable per system per window, however often it fails", async () => {
    const report = (system: string, minutes: number) =>
      store.db
        .transaction()
        .execute((trx) =>
          notifyConnectorUnreachable(trx, system, `${system}: down`, { notify }, at(minutes)),
        );
    await report("ldap", 0);
    await report("ldap", 5);
    await report("ldap", 29);
    await report("crm", 5);
    await report("ldap", 31);
    const rows = await outbox.list(store.db);
    expect(rows.map((r) => [r.payload.system, r.createdAt])).toEqual([
      ["ldap", at(0).toISOString()],
      ["crm", at(5).toISOString()],
      ["ldap", at(31).toISOString()],
    ]);
  });

  it("queues mass-change.stopped with its audit event when a sync is stopped, and emails it", async () => {
    const { dir, dispose } = await tempDir();
    try {
      const people = Array.from(
        { length: 20 },
        (_, i) => `E${100 + i},P${i},Person,p${i}@example.test,Ops,Staff,,employee,active,2026-01-01,,`,
      );
      const config: TenureConfig = { ...testConfig(dir, { missingMeans: "terminate" }), notify };
      const sync = async (rows: string[], now: Date) => {
        await writeHrCsv(dir, rows);
        return syncSource(store, config, config.sources.hr!, { now, actor: "cli:alice" });
      };
      await sync(people, T0);
      const stop = await sync(people.slice(0, 5), at(60)).catch((e: unknown) => e);
      expect(stop).toBeInstanceOf(MassChangeError);
      const { planHash } = stop as MassChangeError;

      const stops = await queryEvents(store.db, { action: "mass-change.stopped" });
      expect(stops).toHaveLength(1);
      const [row] = await outbox.list(store.db, { event: "mass-change.stopped" });
      expect(row).toMatchObject({ channel: "email", recipient: "secops@example.test" });
      expect(row?.payload).toMatchObject({ planHash });

      await deliver(at(61));
      const [mail] = await sink.waitFor(1);
      expect(mail?.subject).toBe("Tenure: sync of source hr stopped by mass-change protection");
      expect(mail?.text).toContain("(run by cli:alice)");
      expect(mail?.text).toContain("- source hr: terminate 15 of 20 people");
      expect(mail?.text).toContain(`tenure sync --confirm-mass-change ${planHash}`);
    } finally {
      await dispose();
    }
  });
  it("provisioning: a mass-change stop and a system never read queue their notifications", async () => {
    const { dir, dispose } = await tempDir();
    try {
      const app = path.join(dir, "app.db");
      createAppDatabase(app);
      const sqlite = new BetterSqlite3(app);
      const insert = sqlite.prepare("insert into app_users (login, mail, active) values (?, ?, 1)");
      for (let i = 0; i < 20; i++) insert.run(`orphan${i}`, null);
      sqlite.close();
      const closed = await freePort();
      const sqlSystem = (url: string) => [
        "    config:",
        `      url: "${url}"`,
        "      users: { table: app_users, id: id, username: login, enabled: { column: active } }",
        "      memberships: { table: app_user_groups, user: user_id, group: group_name }",
      ];
      const config = await loadTestConfig(sink.port, receiver.base, {
        dir,
        extra: [
          "systems:",
          "  app:",
          "    connector: sql",
          "    orphans: disable",
          ...sqlSystem("sqlite:./app.db"),
          "  gone:",
          "    connector: sql",
          ...sqlSystem(`postgres://nobody@127.0.0.1:${closed}/nothing`),
        ],
      });
      // 20 accounts that belong to nobody, to be disabled: past the threshold, so nothing is queued.
      await expect(provision(store, config, { now: () => T0, actor: "cli:alice" })).rejects.toBeInstanceOf(
        MassChangeError,
      );
      const stops = await queryEvents(store.db, { action: "mass-change.stopped" });
      expect(stops.map((e) => [e.details.run, e.details.exceeded])).toEqual([
        ["provisioning", [{ kind: "system", name: "app", disable: 20, delete: 0, total: 20 }]],
      ]);
      const rows = await outbox.list(store.db);
      expect(rows.map((r) => [r.event, r.recipient])).toEqual([
        ["connector.unreachable", "siem"],
        ["mass-change.stopped", "secops@example.test"],
      ]);
      expect(rows[0]?.payload).toMatchObject({ system: "gone", since: T0.toISOString() });
      expect(String(rows[0]?.payload.error)).toContain("ECONNREFUSED");

      expect((await deliver(T0)).summary.sent).toBe(2);
      const [mail] = await sink.waitFor(1);
      expect(mail?.subject).toBe("Tenure: provisioning stopped by mass-change protection");
      expect(mail?.text).toContain("- system app: disable 20, delete 0 of 20 accounts");
      expect(JSON.parse(receiver.received[0]!.body)).toMatchObject({ subject: "Tenure cannot reach gone" });
    } finally {
      await dispose();
    }
  });
});

/** Two connections to one database: a SQLite file, or one PostgreSQL schema. */
async function sharedDatabases(): Promise<
  Array<[string, () => Promise<{ a: Store; b: Store; dispose(): Promise<void> }>]>
> {
  const kinds = (await storeFactories()).map(([name]) => name);
  return kinds.map((name) => [
    name,
    async () => {
      if (name === "sqlite") {
        const { dir, dispose } = await tempDir("tenure-notify-");
        const url = `sqlite:${path.join(dir, "tenure.db")}`;
        const a = await openStore(url);
        const b = await openStore(url);
        return {
          a,
          b,
          dispose: async () => {
            await Promise.all([a.close(), b.close()]);
            await dispose();
          },
        };
      }
      const { url, drop } = await freshPostgresUrl();
      const a = await openStore(url);
      const b = await openStore(url);
      return {
        a,
        b,
        dispose: async () => {
          await Promise.all([a.close(), b.close()]);
          await drop();
        },
      };
    },
  ]);
}

describe.each(await sharedDatabases())("two deliverers at once on %s", (_name, open) => {
  it("never send one message twice", async () => {
    const { a, b, dispose } = await open();
    const sink = await startSmtpSink({ user: SMTP_USER, pass: SMTP_PASSWORD });
    const receiver = await startHttpReceiver();
    try {
      const notify = await notifyConfig(sink.port, receiver.base);
      await a.db.transaction().execute(async (trx) => {
        for (let i = 0; i < 30; i++) {
          await notifyConnectorUnreachable(trx, `system-${i}`, "down", { notify }, T0);
        }
      });
      const run = (store: Store, workerId: string) =>
        deliverNotifications({ store, notify, now: () => T0, workerId, batchSize: 3, concurrency: 2 });
      const [first, second] = await Promise.all([run(a, "deliverer-a"), run(b, "deliverer-b")]);

      const ids = receiver.received.map((r) => (JSON.parse(r.body) as { id: string }).id);
      expect(ids).toHaveLength(30);
      expect(new Set(ids).size).toBe(30);
      expect(first.summary.sent + second.summary.sent).toBe(30);
      expect(first.summary.skipped + second.summary.skipped).toBe(0);
      expect(await outbox.countByState(a.db)).toEqual({ pending: 0, sending: 0, sent: 30, dead: 0 });
    } finally {
      await Promise.all([sink.stop(), receiver.stop()]);
      await dispose();
    }
  });
});
