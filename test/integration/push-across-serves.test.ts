/**
 * Two `tenure serve` processes on one PostgreSQL store, as a deployment behind a load balancer runs
 * them: pushes for one person sent to both at once are serialised across the processes (per-person
 * advisory locks, store/person-lock.ts) — every write answered, none lost, the person in the state
 * of the last one — and pushes for different people run side by side, in one process and in both.
 *
 * "Side by side" is shown, not timed: the target system (a webhook receiver in this test) holds every
 * account creation until three are waiting at once — three people pushed to two processes can only
 * get there if none waits for another.
 */
import { writeFile } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTokenService } from "../../src/api/auth/token-service.js";
import { apiTokenRepository } from "../../src/store/api-token-repository.js";
import { openStore, type Store } from "../../src/store/database.js";
import { freshPostgresUrl, postgresAvailable } from "../helpers/databases.js";
import { type ServeProcess as Serve, startServe, stopServe } from "../helpers/serve-process.js";
import { tempDir } from "../helpers/workspace.js";

const SCIM_USER = "urn:ietf:params:scim:schemas:core:2.0:User";

/** The target system: answers every webhook write, holding account creations while `hold` is set. */
interface Target {
  url: string;
  /** Creations received and not answered yet, by username. */
  waiting: Set<string>;
  /** The most creations waiting at one moment. */
  mostWaiting: number;
  hold: boolean;
  release(): void;
  close(): Promise<void>;
}

async function startTarget(): Promise<Target> {
  const held: (() => void)[] = [];
  const target: Target = {
    url: "",
    waiting: new Set(),
    mostWaiting: 0,
    hold: false,
    release() {
      target.hold = false;
      for (const answer of held.splice(0)) answer();
    },
    close: async () => {
      target.release();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as { kind: string; username: string };
      const answer = () => {
        target.waiting.delete(body.username);
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ changed: true, nativeId: body.username }));
      };
      if (body.kind !== "create" || !target.hold) return answer();
      target.waiting.add(body.username);
      // A creation the connector gave up on waits no more.
      res.on("close", () => target.waiting.delete(body.username));
      target.mostWaiting = Math.max(target.mostWaiting, target.waiting.size);
      held.push(answer);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  target.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return target;
}

async function until(what: string, test: () => boolean, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!test()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe.runIf(await postgresAvailable())("pushes to two tenure serve processes on one PostgreSQL", () => {
  let dispose: () => Promise<void>;
  let drop: () => Promise<void>;
  let target: Target;
  let serves: Serve[] = [];
  let store: Store;
  let token: string;

  beforeAll(async () => {
    const ws = await tempDir("tenure-push-serves-");
    dispose = ws.dispose;
    const pg = await freshPostgresUrl();
    drop = pg.drop;
    target = await startTarget();
    const configFile = path.join(ws.dir, "tenure.yaml");
    await writeFile(
      configFile,
      `database: "${pg.url}"
sources:
  idp: { type: push, key: employeeId, timeZone: UTC }
  hr: { type: push, key: employeeId }
server:
  scim: { source: idp, key: externalId }
  applyIntervalSeconds: 0
  schedule: { enabled: false }
lifecycle:
  massChangeThreshold: { percent: 100, minimum: 1000 }
systems:
  hook:
    connector: webhook
    account: { username: "u{employeeId}" }
    config: { url: "${target.url}/hook", secret: "a-shared-secret-of-some-length", timeoutMs: 60000 }
entitlements:
  hook:
    everyone: {}
roles:
  staff: { when: "true", grants: [{ system: hook, entitlements: [everyone] }] }
`,
    );
    store = await openStore(pg.url);
    const tokens = createTokenService({ db: store.db, tokens: apiTokenRepository, now: () => new Date() });
    ({ token } = await tokens.create({ name: "idp", role: "hr-source", expiresAt: null, actor: "test" }));
    serves = await Promise.all([startServe(configFile), startServe(configFile)]);
  }, 120_000);

  afterAll(async () => {
    await Promise.all(serves.map(stopServe));
    await store?.close();
    await target?.close();
    await drop?.();
    await dispose?.();
  });

  async function call(serve: Serve, method: string, url: string, body?: unknown) {
    const response = await fetch(`${serve.url}${url}`, {
      method,
      headers: { authorization: `Bearer ${token}`, "content-type": "application/scim+json" },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    return {
      status: response.status,
      body: (text === "" ? {} : JSON.parse(text)) as Record<string, unknown>,
    };
  }

  const user = (externalId: string, extra: Record<string, unknown> = {}) => ({
    schemas: [SCIM_USER],
    externalId,
    userName: `${externalId.toLowerCase()}@example.test`,
    name: { givenName: "Pat", familyName: externalId },
    emails: [{ value: `${externalId.toLowerCase()}@example.test`, type: "work", primary: true }],
    ...extra,
  });

  async function identityOf(source: string, key: string) {
    const row = await store.db
      .selectFrom("identities")
      .select(["id", "attributes"])
      .where("source", "=", source)
      .where("source_key", "=", key)
      .execute();
    return row.map((r) => ({ id: r.id, attributes: JSON.parse(r.attributes) as Record<string, unknown> }));
  }

  it("runs creations for different people side by side, in one process and across both", async () => {
    const [one, two] = serves as [Serve, Serve];
    target.hold = true;
    const answers = Promise.all([
      call(one, "POST", "/scim/v2/Users", user("A1")),
      call(one, "POST", "/scim/v2/Users", user("A2")),
      call(two, "POST", "/scim/v2/Users", user("A3")),
    ]);
    try {
      // Only pushes that do not wait for one another can all reach the target before it answers.
      await until("three creations wait in the target at once", () => target.waiting.size === 3);
    } finally {
      target.release();
    }
    expect((await answers).map((a) => a.status)).toEqual([201, 201, 201]);
    expect(target.mostWaiting).toBe(3);
  }, 60_000);

  it("serialises PATCHes and PUTs of one person sent to both processes: every write kept, the last one wins", async () => {
    const [one, two] = serves as [Serve, Serve];
    const created = await call(one, "POST", "/scim/v2/Users", user("B1", { title: "start" }));
    expect(created.status).toBe(201);
    const id = String(created.body.id);
    const writes = 16;
    // Each PATCH adds a phone number of its own and sets the title: a write lost to a racing one
    // would show as a missing number, a refused one as a 412 or 409.
    const answers = await Promise.all(
      Array.from({ length: writes }, (_, i) =>
        call(i % 2 === 0 ? one : two, "PATCH", `/scim/v2/Users/${id}`, {
          schemas: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
          Operations: [
            { op: "add", path: "phoneNumbers", value: [{ value: `+1 555 01${String(i).padStart(2, "0")}` }] },
            { op: "replace", path: "title", value: `title ${i}` },
          ],
        }),
      ),
    );
    // A PATCH answers 204 (no attributes asked for).
    expect(answers.map((a) => a.status)).toEqual(Array(writes).fill(204));
    const final = await call(two, "GET", `/scim/v2/Users/${id}`);
    const phones = (final.body.phoneNumbers as { value: string }[]).map((p) => p.value).sort();
    expect(phones).toEqual(
      Array.from({ length: writes }, (_, i) => `+1 555 01${String(i).padStart(2, "0")}`),
    );
    expect((final.body.meta as { version: string }).version).toBe(`W/"${1 + writes}"`);
    // The person in Tenure is as the last write left them (the version above counts every write).
    const [identity] = await identityOf("idp", "B1");
    expect(identity?.attributes.title).toBe(final.body.title);
    expect(final.body.title).toMatch(/^title \d+$/);

    // PUTs race the same way: each replaces the whole User; the one stored last is what Tenure holds.
    const puts = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        call(i % 2 === 0 ? two : one, "PUT", `/scim/v2/Users/${id}`, user("B1", { title: `put ${i}` })),
      ),
    );
    expect(puts.map((a) => a.status)).toEqual(Array(8).fill(200));
    const afterPuts = await call(one, "GET", `/scim/v2/Users/${id}`);
    expect((afterPuts.body.meta as { version: string }).version).toBe(`W/"${1 + writes + 8}"`);
    expect((await identityOf("idp", "B1"))[0]?.attributes.title).toBe(afterPuts.body.title);
  }, 60_000);

  it("serialises JSON pushes of one new person sent to both processes: one identity, no error", async () => {
    const [one, two] = serves as [Serve, Serve];
    const answers = await Promise.all(
      Array.from({ length: 8 }, async (_, i) => {
        const response = await fetch(`${(i % 2 === 0 ? one : two).url}/api/sources/hr/records`, {
          method: "POST",
          headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
          body: JSON.stringify({
            records: [
              {
                employeeId: "C1",
                givenName: "Cam",
                familyName: "Push",
                email: "c1@example.test",
                title: `title ${i}`,
              },
            ],
          }),
        });
        return {
          status: response.status,
          body: (await response.json()) as { results: { status: string }[] },
        };
      }),
    );
    expect(answers.map((a) => a.status)).toEqual(Array(8).fill(200));
    expect(answers.filter((a) => a.body.results[0]?.status === "created")).toHaveLength(1);
    const identities = await identityOf("hr", "C1");
    expect(identities).toHaveLength(1);
    // The account was created once, by whichever push came first.
    const accounts = await store.db
      .selectFrom("accounts")
      .select("username")
      .where("identity_id", "=", identities[0]!.id)
      .execute();
    expect(accounts.map((a) => a.username)).toEqual(["uc1"]);
  }, 60_000);
});
