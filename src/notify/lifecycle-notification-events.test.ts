import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { storeFactories, type TestStore } from "../../test/helpers/databases.js";
import { validateConfigText } from "../policy/config-loader.js";
import { notificationRepository as outbox } from "../store/notification-repository.js";
import type { JoinerAccountsCreatedData, LeaverNoticeData } from "./lifecycle-notification-events.js";
import { enqueueNotifications } from "./notification-enqueue.js";
import type { NotifyConfig } from "./notify-config.js";

/**
 * The joiner and leaver notices (issue 18, item 6): what they say, that no secret reaches the outbox
 * even when a caller hands one over, that a repeat is a duplicate, and how `notify.securityContacts`
 * routes the leaver notices (checked at file:line).
 */

const T0 = new Date("2026-12-04T09:00:00.000Z");
const SECRET = "Initial-Pa55word-9f3k";

const NOTIFY: NotifyConfig = {
  email: {
    host: "127.0.0.1",
    port: 2525,
    secure: false,
    requireTLS: false,
    auth: null,
    from: "tenure@example.test",
    timeoutSeconds: 5,
  },
  webhooks: {},
  routes: {
    "joiner.accounts-created": [{ email: ["{{to}}"] }],
    "leaver.deprovisioned": [{ email: ["security@example.test", "soc@example.test"] }],
    "leaver.sla-breached": [{ email: ["security@example.test"] }],
  },
  templates: {},
  retry: { maxAttempts: 3, baseDelaySeconds: 60, maxDelaySeconds: 600 },
  unreachableWindowMinutes: 60,
};
const config = { notify: NOTIFY };

const joiner = (over: Partial<JoinerAccountsCreatedData> = {}): JoinerAccountsCreatedData => ({
  identityId: "id-kim",
  employeeId: "E3",
  name: "Kim Future",
  to: "mia@example.test",
  manager: "Mia Manager",
  startDate: "2026-03-20",
  employment: 1,
  accounts: [
    { system: "directory", username: "kim.future" },
    { system: "appdb", username: "u_e3" },
  ],
  notCreated: [{ system: "wiki", username: "kim.future", why: "failed for good: wiki answered 500" }],
  ...over,
});

const leaver = (over: Partial<LeaverNoticeData> = {}): LeaverNoticeData => ({
  identityId: "id-ada",
  employeeId: "E1",
  name: "Ada Lovelace",
  terminatedAt: "2026-03-14T09:00:00.000Z",
  slaHours: 24,
  hours: 30.5,
  withinSla: false,
  systems: [
    {
      system: "appdb",
      username: "u_e1",
      status: "deleted",
      at: "2026-03-14T09:05:00.000Z",
      hours: 0.08,
      withinSla: true,
      error: null,
    },
    {
      system: "directory",
      username: "ada.lovelace",
      status: "disabled",
      at: "2026-03-15T15:30:00.000Z",
      hours: 30.5,
      withinSla: false,
      error: null,
    },
  ],
  ...over,
});

describe.each(await storeFactories())("joiner and leaver notices on %s", (_kind, makeStore) => {
  let store: TestStore;
  beforeEach(async () => {
    store = await makeStore();
  });
  afterEach(async () => {
    await store.dispose();
  });

  it("tells the manager which accounts were created, once per employment, with no secret", async () => {
    // A caller that (wrongly) hands over a connector's generated password: the schema drops it.
    const data = { ...joiner(), password: SECRET, attributes: { userPassword: SECRET } };
    const first = await enqueueNotifications(
      store.db,
      { name: "joiner.accounts-created", data: data as JoinerAccountsCreatedData },
      config,
      T0,
    );
    expect(first.queued).toHaveLength(1);
    const [row] = await outbox.list(store.db, { event: "joiner.accounts-created" });
    expect(row?.recipient).toBe("mia@example.test");
    expect(row?.subject).toBe("Accounts created for Kim Future");
    expect(row?.body).toContain("Hello Mia Manager,");
    expect(row?.body).toContain("- directory: kim.future\n- appdb: u_e3");
    expect(row?.body).toContain("- wiki: kim.future (failed for good: wiki answered 500)");
    expect(row?.body).toContain("starts on 2026-03-20");
    expect(JSON.stringify(row)).not.toContain(SECRET);
    expect(row?.payload).not.toHaveProperty("password");

    // A retry, a re-run, or a later account in the same employment: not sent again.
    const again = await enqueueNotifications(
      store.db,
      { name: "joiner.accounts-created", data: joiner({ accounts: [{ system: "crm", username: "kim" }] }) },
      config,
      new Date(T0.getTime() + 60_000),
    );
    expect(again.queued).toHaveLength(0);
    expect(again.duplicates).toHaveLength(1);
    // A rehire is a new employment: the manager is told again.
    const rehired = await enqueueNotifications(
      store.db,
      { name: "joiner.accounts-created", data: joiner({ employment: 2 }) },
      config,
      T0,
    );
    expect(rehired.queued).toHaveLength(1);
  });

  it("skips the joiner notice when the manager has no address", async () => {
    const result = await enqueueNotifications(
      store.db,
      { name: "joiner.accounts-created", data: joiner({ to: null, manager: null, notCreated: [] }) },
      config,
      T0,
    );
    expect(result.queued).toHaveLength(0);
    expect(result.skipped).toEqual([
      { target: "email {{to}}", reason: "no recipient: the event's data has no address for it" },
    ]);
  });

  it("tells the security contacts each system's disable time against the SLA, once per termination", async () => {
    const first = await enqueueNotifications(
      store.db,
      { name: "leaver.deprovisioned", data: leaver() },
      config,
      T0,
    );
    expect(first.queued).toHaveLength(1);
    const [row] = await outbox.list(store.db, { event: "leaver.deprovisioned" });
    expect(row?.recipient).toBe("security@example.test, soc@example.test");
    expect(row?.subject).toBe("Leaver Ada Lovelace deprovisioned in 30.5 h (SLA 24 h: within SLA no)");
    expect(row?.body).toBe(
      "Every account of Ada Lovelace (E1), terminated at 2026-03-14T09:00:00.000Z, is now disabled or removed, " +
        "30.5 h after the termination (SLA 24 h):\n" +
        "- appdb: u_e1 deleted at 2026-03-14T09:05:00.000Z, 0.08 h after termination (within SLA)\n" +
        "- directory: ada.lovelace disabled at 2026-03-15T15:30:00.000Z, 30.5 h after termination (SLA of 24 h breached)",
    );
    const again = await enqueueNotifications(
      store.db,
      { name: "leaver.deprovisioned", data: leaver() },
      config,
      T0,
    );
    expect(again.duplicates).toHaveLength(1);
    // Rehired and left again: a new termination, a new notice.
    const later = await enqueueNotifications(
      store.db,
      { name: "leaver.deprovisioned", data: leaver({ terminatedAt: "2026-09-01T09:00:00.000Z" }) },
      config,
      T0,
    );
    expect(later.queued).toHaveLength(1);
  });

  it("says which systems are still pending or failed when the SLA is breached", async () => {
    const data = leaver({
      hours: 48,
      systems: [
        {
          system: "appdb",
          username: "u_e1",
          status: "failed",
          at: null,
          hours: 48,
          withinSla: false,
          error: "appdb refused: permission denied",
        },
        {
          system: "directory",
          username: "ada.lovelace",
          status: "pending",
          at: null,
          hours: 48,
          withinSla: false,
          error: null,
        },
      ],
    });
    await enqueueNotifications(store.db, { name: "leaver.sla-breached", data }, config, T0);
    const [row] = await outbox.list(store.db, { event: "leaver.sla-breached" });
    expect(row?.subject).toBe("Leaver Ada Lovelace still has access after 48 h (SLA 24 h)");
    expect(row?.body).toContain("not all disabled (appdb, directory)");
    expect(row?.body).toContain(
      "- appdb: u_e1 NOT disabled (failed for good: appdb refused: permission denied), 48 h after termination (SLA of 24 h breached)",
    );
    expect(row?.body).toContain("- directory: ada.lovelace NOT disabled yet, 48 h after termination");
  });

  it("renders an override from notify.templates", async () => {
    const overridden = {
      notify: {
        ...NOTIFY,
        templates: { "leaver.deprovisioned": { subject: "[leaver] {{employeeId}} {{names}}" } },
      },
    };
    await enqueueNotifications(store.db, { name: "leaver.deprovisioned", data: leaver() }, overridden, T0);
    const [row] = await outbox.list(store.db, { event: "leaver.deprovisioned" });
    expect(row?.subject).toBe("[leaver] E1 appdb, directory");
  });
});

describe("notify.securityContacts", () => {
  const load = (lines: readonly string[]) =>
    validateConfigText(`${lines.join("\n")}\n`, { path: "/etc/tenure/tenure.yaml", env: {} });

  it("routes the leaver notices to the security contacts, and the joiner notice to the manager", async () => {
    const { config, errors } = await load([
      "notify:",
      "  email: { smtp: smtp://127.0.0.1:2525, from: tenure@example.test }",
      "  securityContacts: [security@example.test, soc@example.test]",
      "  routes:",
      "    leaver.sla-breached:",
      "      - email: [ciso@example.test]",
    ]);
    expect(errors).toEqual([]);
    expect(config?.notify?.routes["leaver.deprovisioned"]).toEqual([
      { email: ["security@example.test", "soc@example.test"] },
    ]);
    // A route written for the event wins.
    expect(config?.notify?.routes["leaver.sla-breached"]).toEqual([{ email: ["ciso@example.test"] }]);
    expect(config?.notify?.routes["joiner.accounts-created"]).toEqual([{ email: ["{{to}}"] }]);
  });

  it("reports a bad address, contacts without email, and an unknown placeholder at file:line", async () => {
    const { config, errors } = await load([
      "notify:", // 1
      "  securityContacts: [security@example.test, not-an-address]", // 2
      "  templates:", // 3
      "    joiner.accounts-created:", // 4
      '      subject: "Accounts for {{nmae}}"', // 5
    ]);
    expect(config).toBeUndefined();
    const messages = errors.map((e) => `${e.line}: ${e.path}: ${e.message}`);
    expect(messages).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^2: notify\.securityContacts\[1\]: expected an email address/),
        expect.stringMatching(
          /^5: notify\.templates\["joiner\.accounts-created"\]\.subject: unknown placeholder 'nmae' — did you mean 'name'\?/,
        ),
      ]),
    );
    const noEmail = await load(["notify:", "  securityContacts: [security@example.test]"]);
    expect(noEmail.errors.map((e) => `${e.line}: ${e.path}: ${e.message}`)).toEqual([
      expect.stringMatching(/^2: notify\.securityContacts: email is not configured/),
    ]);
  });
});
