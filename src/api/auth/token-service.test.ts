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
