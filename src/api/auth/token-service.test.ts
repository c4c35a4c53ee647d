import { describe, expect, it } from "vitest";
import { storeFactories } from "../../../test/helpers/databases.js";
import { apiTokenRepository } from "../../store/api-token-repository.js";
import { createTokenService } from "./token-service.js";

describe("a token's last use", () => {
  it("is written when the token is used, then at most once a minute by this process, not on every request", async () => {
    const [first] = await storeFactories();
    const store = await first![1]();
    try {
      const clock = { now: new Date("2026-03-02T10:00:00Z") };
      const touches: string[] = [];
      const tokens = createTokenService({
        db: store.db,
        tokens: {
          ...apiTokenRepository,
          touch: (db, id, at, notAfter) => {
            touches.push(at);
            return apiTokenRepository.touch(db, id, at, notAfter);
          },
        },
        now: () => clock.now,
      });
      const { token, record } = await tokens.create({
        name: "t",
        role: "admin",
        expiresAt: null,
        actor: "test",
      });
      const lastUsed = async () => (await apiTokenRepository.findById(store.db, record.id))?.lastUsedAt;

      await tokens.authenticate(token);
      expect(await lastUsed()).toBe("2026-03-02T10:00:00.000Z");
      for (let s = 1; s < 60; s += 10) {
        clock.now = new Date(Date.parse("2026-03-02T10:00:00Z") + s * 1000);
        await tokens.authenticate(token);
      }
      expect(touches).toEqual(["2026-03-02T10:00:00.000Z"]);
      clock.now = new Date("2026-03-02T10:01:01Z");
      await tokens.authenticate(token);
      expect(touches).toHaveLength(2);
      expect(await lastUsed()).toBe("2026-03-02T10:01:01.000Z");
    } finally {
      await store.close();
    }
  });
});

describe.each(await storeFactories())("a burst of requests with one token on %s", (_kind, makeStore) => {
  it("shares the token's lookups between the requests in hand, and a revocation holds for every request after it", async () => {
    const store = await makeStore();
    try {
      let lookups = 0;
      const tokens = createTokenService({
        db: store.db,
        tokens: {
          ...apiTokenRepository,
          findByHash: (db, hash) => {
            lookups += 1;
            return apiTokenRepository.findByHash(db, hash);
          },
        },
        now: () => new Date("2026-03-02T10:00:00Z"),
      });
      const mine = await tokens.create({ name: "idp", role: "admin", expiresAt: null, actor: "test" });
      const other = await tokens.create({ name: "other", role: "auditor", expiresAt: null, actor: "test" });
      const principals = await Promise.all(
        Array.from({ length: 40 }, (_, i) => tokens.authenticate(i % 10 === 3 ? other.token : mine.token)),
      );
      // Each request gets its own token's principal...
      expect(principals.filter((p) => p.name === "other")).toHaveLength(4);
      expect(principals.filter((p) => p.name === "idp" && p.role === "admin")).toHaveLength(36);
      // ...from a few reads, not one a request.
      expect(lookups).toBeLessThanOrEqual(8);
      await tokens.revoke("idp", "test");
      const after = await Promise.allSettled(
        Array.from({ length: 5 }, () => tokens.authenticate(mine.token)),
      );
      expect(after.map((r) => r.status)).toEqual(Array(5).fill("rejected"));
    } finally {
      await store.close();
    }
  });
});
