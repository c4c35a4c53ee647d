/**
 * Issue 19 item 3: a trace id follows a push to its operations. A SCIM push's request id — the caller's
 * X-Request-Id or traceparent trace id when sane — is stored on every operation it queues, shown by
 * GET /api/operations (and filtered by it), and carried by the log lines written while it runs; on
 * SQLite and PostgreSQL.
 */
import { appendFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServer } from "../../src/api/serve.js";
import { enqueueInTransaction } from "../../src/engine/enqueue.js";
import { withTraceId } from "../../src/shared/trace-context.js";
import { runCliInProcess } from "../helpers/cli-in-process.js";
import { storeFactories } from "../helpers/databases.js";
import { type ScimFixture, scimCall, scimFixture } from "../helpers/scim-fixture.js";
import { tempDir } from "../helpers/workspace.js";

const USER = "urn:ietf:params:scim:schemas:core:2.0:User";

function person(userName: string) {
  const [givenName, familyName] = userName.split(".");
  return {
    schemas: [USER],
    userName,
    externalId: `ext-${userName}`,
    active: true,
    name: { givenName, familyName },
    emails: [{ value: `${userName}@example.test`, type: "work", primary: true }],
  };
}

interface OperationAnswer {
  id: string;
  kind: string;
  traceId: string | null;
}

describe.each(await storeFactories())("the trace id of a SCIM push on %s", (_kind, makeStore) => {
  let f: ScimFixture;
  const lines: string[] = [];
  beforeAll(async () => {
    f = await scimFixture(makeStore, {
      withSystem: true,
      logStream: { write: (line: string) => lines.push(line) },
    });
  });
  afterAll(() => f.dispose());

  const push = (userName: string, headers: Record<string, string>) =>
    scimCall(f, "POST", "/Users", person(userName), headers);
  const operationsOf = async (traceId: string): Promise<OperationAnswer[]> => {
    const res = await f.app.inject({
      method: "GET",
      url: `/api/operations?traceId=${encodeURIComponent(traceId)}&limit=100`,
      headers: { authorization: `Bearer ${f.tokenFor.admin}` },
    });
    expect(res.statusCode, res.body).toBe(200);
    return (res.json() as { items: OperationAnswer[] }).items;
  };
  const logged = () => lines.map((l) => JSON.parse(l) as Record<string, unknown>);

  it("stores the caller's X-Request-Id on the operations the push queued, and its log lines carry it", async () => {
    const res = await push("Tara.Trace", { "x-request-id": "hr-push-0001" });
    expect(res.statusCode, res.body).toBe(201);
    expect(res.headers["x-request-id"]).toBe("hr-push-0001");

    const ops = await operationsOf("hr-push-0001");
    expect(ops.map((o) => o.kind)).toContain("create");
    for (const op of ops) expect(op.traceId).toBe("hr-push-0001");
    // The unfiltered list shows it too, beside operations of other traces.
    const all = await f.app.inject({
      method: "GET",
      url: "/api/operations?limit=500",
      headers: { authorization: `Bearer ${f.tokenFor.admin}` },
    });
    const listed = (all.json() as { items: OperationAnswer[] }).items.filter((o) => o.id === ops[0]!.id);
    expect(listed).toEqual([expect.objectContaining({ traceId: "hr-push-0001" })]);

    const traced = logged().filter((l) => l.traceId === "hr-push-0001");
    expect(traced.length).toBeGreaterThan(0);
    // Every line of the request carries the id: fastify's own as reqId, ours as traceId too.
    for (const l of traced) expect(l.reqId).toBe("hr-push-0001");
    expect(traced.some((l) => l.msg === "request completed")).toBe(true);
  });

  it("takes the trace id of a W3C traceparent when no X-Request-Id is sent", async () => {
    const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    const res = await push("Theo.Parent", { traceparent: `00-${traceId}-00f067aa0ba902b7-01` });
    expect(res.statusCode, res.body).toBe(201);
    expect(res.headers["x-request-id"]).toBe(traceId);
    const ops = await operationsOf(traceId);
    expect(ops.map((o) => o.kind)).toContain("create");
    expect(logged().some((l) => l.traceId === traceId)).toBe(true);
  });

  it("ignores an id that is too long or holds unsafe characters, and traces the push under its own", async () => {
    const res = await push("Una.Safe", {
      "x-request-id": "a<script>\nb",
      traceparent: `00-${"0".repeat(32)}-00f067aa0ba902b7-01`,
    });
    expect(res.statusCode, res.body).toBe(201);
    const own = String(res.headers["x-request-id"]);
    expect(own).toMatch(/^[0-9a-f-]{36}$/);
    const ops = await operationsOf(own);
    expect(ops.map((o) => o.kind)).toContain("create");
    expect(lines.join("")).not.toContain("<script>");

    const long = await push("Lou.Long", { "x-request-id": "x".repeat(65) });
    expect(long.headers["x-request-id"]).not.toBe("x".repeat(65));
    const bad = await f.app.inject({
      method: "GET",
      url: `/api/operations?traceId=${"x".repeat(65)}`,
      headers: { authorization: `Bearer ${f.tokenFor.admin}` },
    });
    expect(bad.statusCode).toBe(400);
  });
});

describe.each(await storeFactories())("the apply loop's log lines on %s", (_kind, makeStore) => {
  it("name each operation it finished with the trace id of what queued it", async () => {
    const f = await scimFixture(makeStore, { withSystem: true });
    const lines: string[] = [];
    const server = await startServer({
      config: { ...f.config, server: { ...f.config.server, applyIntervalSeconds: 1 } },
      store: f.store,
      now: () => f.clock.now,
      host: "127.0.0.1",
      port: 0,
      logStream: { write: (line: string) => lines.push(line) },
    });
    try {
      const { queued } = await withTraceId("queued-in-test", () =>
        f.store.db.transaction().execute((trx) =>
          enqueueInTransaction(
            trx,
            [
              {
                system: "app",
                kind: "grant",
                identityId: null,
                username: "nobody.here",
                nativeId: null,
                entitlement: "readers",
                attributes: null,
                enabled: null,
                lineage: [],
                reason: "test",
                idempotencyKey: "trace-test-grant",
                drift: false,
              },
            ],
            { now: f.clock.now, actor: "test", systems: f.config.policy.systems },
          ),
        ),
      );
      expect(queued.map((o) => o.traceId)).toEqual(["queued-in-test"]);
      const id = queued[0]!.id;
      const deadline = Date.now() + 20_000;
      const lineFor = () =>
        lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.operation === id);
      while (lineFor() === undefined && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect(lineFor()).toMatchObject({
        traceId: "queued-in-test",
        system: "app",
        kind: "grant",
        msg: expect.stringMatching(/^operation (succeeded|failed|dead|skipped)$/),
      });
    } finally {
      await server.close();
      await f.dispose();
    }
  }, 60_000);
});

describe("the trace id of a CLI sync", () => {
  it("is TENURE_TRACE_ID (or a fresh id), printed by --json and stored on the operations it queued", async () => {
    const { dir, dispose } = await tempDir("tenure-trace-cli-");
    try {
      const env = { TENURE_NOW: "2026-11-21T10:00:00Z" };
      expect((await runCliInProcess(["init", dir], { cwd: dir, env })).code).toBe(0);
      // A system every employee gets an account in (handed to a person: no server needed).
      await appendFile(
        path.join(dir, "tenure.yaml"),
        `
systems:
  desk:
    connector: manual
    account: { username: "{givenName}.{familyName}" }
    config: { fulfiller: desk@example.com }
roles:
  staff:
    when: "employmentType == 'employee'"
    grants: [{ system: desk }]
`,
      );
      const sync = await runCliInProcess(["sync", "--json"], {
        cwd: dir,
        env: { ...env, TENURE_TRACE_ID: "nightly-hr.42" },
      });
      expect(sync.code, sync.stderr).toBe(0);
      expect(JSON.parse(sync.stdout)).toMatchObject({ traceId: "nightly-hr.42" });
      const list = await runCliInProcess(["operations", "list", "--trace-id", "nightly-hr.42", "--json"], {
        cwd: dir,
        env,
      });
      const { operations } = JSON.parse(list.stdout) as { operations: OperationAnswer[] };
      expect(operations.length).toBeGreaterThan(0);
      for (const op of operations) expect(op.traceId).toBe("nightly-hr.42");

      const bad = await runCliInProcess(["sync"], { cwd: dir, env: { ...env, TENURE_TRACE_ID: "a b" } });
      expect(bad.code).toBe(2);
      expect(bad.stderr).toMatch(/TENURE_TRACE_ID must be 1 to 64/);
    } finally {
      await dispose();
    }
  });
});
