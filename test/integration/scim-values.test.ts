/**
 * Values entering through Tenure's SCIM server obey the rules of every source (sources/value-rules.ts),
 * on SQLite and PostgreSQL: control characters and over-long values are a 400 invalidValue naming the
 * attribute, changing nothing (SCIM resources, identities, audit ledger); userName and the person key
 * are compared in Unicode NFC and trimmed, so a second spelling of one person is a 409.
 */
import type { LightMyRequestResponse } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { storeFactories } from "../helpers/databases.js";
import { type ScimFixture, scimCall, scimFixture } from "../helpers/scim-fixture.js";

// biome-ignore lint/suspicious/noExplicitAny: assertions read SCIM answers freely; expect() checks the shapes
type Json = Record<string, any>;

function user(userName: string, externalId: string, extra: Json = {}): Json {
  return {
    schemas: ["urn:ietf:params:scim:schemas:core:2.0:User"],
    userName,
    externalId,
    active: true,
    name: { givenName: "Zoë", familyName: "Łukasik" },
    emails: [{ value: `${externalId.trim().toLowerCase()}@example.test`, type: "work", primary: true }],
    ...extra,
  };
}

describe.each(await storeFactories())("SCIM values on %s", (_kind, makeStore) => {
  let f: ScimFixture;
  beforeAll(async () => {
    f = await scimFixture(makeStore);
  });
  afterAll(() => f.dispose());

  const post = (body: Json): Promise<LightMyRequestResponse> => scimCall(f, "POST", "/Users", body);

  async function footprint() {
    const count = async (table: "scim_resources" | "identities" | "audit_events") =>
      Number(
        (
          await f.store.db
            .selectFrom(table)
            .select((eb) => eb.fn.countAll<number>().as("n"))
            .executeTakeFirstOrThrow()
        ).n,
      );
    return {
      scim: await count("scim_resources"),
      identities: await count("identities"),
      audit: await count("audit_events"),
    };
  }

  function refused(res: LightMyRequestResponse, status: number, scimType: string): string {
    expect(res.statusCode, res.body).toBe(status);
    const body = res.json() as Json;
    expect(body.scimType).toBe(scimType);
    return body.detail as string;
  }

  it("refuses a NUL or control character in any string attribute, naming it, with nothing stored", async () => {
    const before = await footprint();
    const nul = refused(
      await post(user("nul.person", "ext-nul", { name: { givenName: "Zo\u0000ë", familyName: "X" } })),
      400,
      "invalidValue",
    );
    expect(nul).toContain("name.givenName: contains the control character U+0000 at character 3");
    const esc = refused(await post(user("esc\u001b[2J", "ext-esc")), 400, "invalidValue");
    expect(esc).toContain("userName: contains the control character U+001B");
    expect(esc).not.toMatch(/\p{Cc}/u);
    const nick = refused(await post(user("nick", "ext-nick", { nickName: "a\nb" })), 400, "invalidValue");
    expect(nick).toContain("nickName: contains the control character U+000A");
    const street = refused(
      await post(user("street", "ext-street", { addresses: [{ type: "work", locality: "Paris\n" }] })),
      400,
      "invalidValue",
    );
    expect(street).toContain("addresses[0].locality: contains the control character U+000A");
    expect(await footprint()).toEqual(before);
    // RFC 7643 lets a street address and a formatted address hold line breaks (AD's street is multi-line).
    const address = { type: "work", streetAddress: "1 Rue X\r\nBât. B", formatted: "1 Rue X\nParis" };
    const created = await post(user("multi.line", "ext-multi", { addresses: [address] }));
    expect(created.statusCode, created.body).toBe(201);
    expect(created.json().addresses[0]).toMatchObject(address);
  });

  it("refuses a value longer than 1024 characters, and a key longer than 256, naming the attribute", async () => {
    const before = await footprint();
    const title = refused(
      await post(user("long.title", "ext-long", { title: "x".repeat(1025) })),
      400,
      "invalidValue",
    );
    expect(title).toContain("title: is 1025 characters long; at most 1024 are accepted");
    const key = refused(await post(user("long.key", "k".repeat(257))), 400, "invalidValue");
    expect(key).toContain("externalId: employeeId is 257 characters long; at most 256 are accepted");
    expect(await footprint()).toEqual(before);
  });

  it("compares userName and the person key in NFC, trimmed: a second spelling of one person is a 409", async () => {
    expect((await post(user("zoe.\u00E9", "ext-\u00C91"))).statusCode).toBe(201);
    const before = await footprint();
    // The same userName in NFD, and with a trailing space.
    for (const name of ["zoe.e\u0301", "zoe.\u00E9 "]) {
      expect(refused(await post(user(name, "ext-other")), 409, "uniqueness")).toContain("userName");
    }
    // The same person key in NFD, and with a trailing space.
    for (const key of ["ext-E\u03011", "ext-\u00C91 "]) {
      expect(refused(await post(user(`other.${key.length}`, key)), 409, "uniqueness")).toContain(
        "externalId",
      );
    }
    expect(await footprint()).toEqual(before);
  });
});
