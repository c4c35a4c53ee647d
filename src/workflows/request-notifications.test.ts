/**
 * The messages of access requests, in the outbox (SQLite and PostgreSQL): the approver is asked with a
 * link, the requester told of the decision, the holder warned before the end, the security contacts
 * told of break-glass — each to that person's address, queued in the transaction of the change, never
 * carrying a secret, and each once.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ApiFixture, apiFixture } from "../../test/helpers/api-fixture.js";
import { storeFactories } from "../../test/helpers/databases.js";
import { identityRepository } from "../store/identity-repository.js";
import { notificationRepository } from "../store/notification-repository.js";
import { accessPass } from "./access-timer.js";
import { decide } from "./request-effects.js";
import { submitRequest } from "./request-submission.js";

const MORE = `
  deploy-request:
    owner: grace@example.test
    grants: [{ system: app, entitlements: [deployers] }]
    requestable: { defaultDuration: 4h, maxDuration: 1d, approval: [manager] }
  break-fix:
    owner: grace@example.test
    elevation: true
    grants: [{ system: app, entitlements: [deployers] }]
    requestable: { maxDuration: 2h, approval: [owner] }
requests:
  securityContacts: [security@example.test]
  warnBeforeExpiry: 1h
notify:
  email: { smtp: "smtp://127.0.0.1:2525", from: "Tenure <tenure@example.test>" }
`;

describe.each(await storeFactories())("access request notifications on %s", (_kind, makeStore) => {
  let f: ApiFixture;
  const ids: Record<string, string> = {};
  beforeAll(async () => {
    f = await apiFixture(makeStore, { moreYaml: MORE });
    for (const key of ["E1", "E2", "E4"]) ids[key] = (await identityRepository.resolve(f.store.db, key))!.id;
  });
  afterAll(() => f.dispose());

  const outbox = async (event: string) =>
    (await notificationRepository.list(f.store.db)).filter((n) => n.event === event);

  it("asks the manager, tells the requester, warns the holder before the end — each once", async () => {
    const now = f.clock.now;
    const asked = await submitRequest(
      f.store,
      f.config,
      {
        requesterId: ids.E2!,
        items: [{ kind: "role", role: "deploy-request" }],
        justification: "release train",
        durationMs: 2 * 3_600_000,
      },
      { now, actor: "test" },
    );
    const [ask] = await outbox("request.decision-needed");
    expect(ask).toMatchObject({ channel: "email", recipient: "ada@example.test" });
    expect(ask!.subject).toBe("Access request: Grace Hopper asks for role deploy-request");
    expect(ask!.body).toContain(`tenure request approve ${asked.request.id}`);
    expect(ask!.body).toContain("Why: release train");

    await decide(
      f.store,
      f.config,
      asked.request.id,
      { kind: "approve", by: ids.E1!, comment: "go" },
      { now, actor: "test" },
    );
    const [told] = await outbox("request.decided");
    expect(told).toMatchObject({
      recipient: "grace@example.test",
      subject: "Your access request for role deploy-request: approved",
    });
    expect(told!.body).toContain(`Access until: ${new Date(now.getTime() + 2 * 3_600_000).toISOString()}`);

    // An hour before the end (warnBeforeExpiry: 1h) the holder is warned, once however many passes run.
    await accessPass(f.store, f.config, { now: new Date(now.getTime() + 30 * 60_000), actor: "timer" });
    expect(await outbox("access.expiring")).toEqual([]);
    for (const minutes of [61, 62, 90]) {
      await accessPass(f.store, f.config, {
        now: new Date(now.getTime() + minutes * 60_000),
        actor: "timer",
      });
    }
    const warnings = await outbox("access.expiring");
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({
      recipient: "grace@example.test",
      subject: expect.stringContaining("role deploy-request ends at"),
    });
  });

  it("tells every security contact of a break-glass at once, and asks the owner to review it", async () => {
    const now = new Date(f.clock.now.getTime() + 5 * 3_600_000);
    const glass = await submitRequest(
      f.store,
      f.config,
      {
        requesterId: ids.E1!,
        items: [{ kind: "role", role: "break-fix" }],
        justification: "prod down",
        durationMs: 3_600_000,
        kind: "break-glass",
        ticket: "INC-9",
      },
      { now, actor: "test" },
    );
    const [alert] = await outbox("access.break-glass");
    expect(alert).toMatchObject({
      recipient: "security@example.test",
      subject: "BREAK-GLASS: Ada Lovelace elevated to role break-fix",
    });
    expect(alert!.body).toContain("Grace Hopper must review it");
    const asks = (await outbox("request.decision-needed")).filter(
      (n) => n.payload.requestId === `${glass.request.id}-review`,
    );
    expect(asks.map((n) => n.recipient)).toEqual(["grace@example.test"]);
    // No message carries a secret of the configuration.
    for (const n of await notificationRepository.list(f.store.db)) {
      expect(`${n.subject}${n.body}${JSON.stringify(n.payload)}`).not.toMatch(/smtp:\/\/|password|secret/i);
    }
  });
});
