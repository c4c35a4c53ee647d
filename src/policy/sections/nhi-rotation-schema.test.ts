// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the tests write tenure.yaml's ${env:…} syntax.
import { describe, expect, it } from "vitest";
import { isSecretAt } from "../../config/schema-helpers.js";
import { nhiRotationSchema, resolveNhiRotation } from "./nhi-rotation-schema.js";

describe("nhi.rotation", () => {
  it("takes a file sink, made absolute against the config's folder, with defaults", () => {
    const parsed = nhiRotationSchema.parse({ sink: { file: "./secrets.jsonl" } });
    expect(resolveNhiRotation(parsed, "/etc/tenure")).toEqual({
      sink: { file: "/etc/tenure/secrets.jsonl" },
      schedule: "off",
      alertEmail: null,
      staleAfterMinutes: 60,
      webhookRotators: {},
    });
  });

  it("takes a signed webhook sink and webhook rotators, whose URLs and keys are secret fields", () => {
    const written = {
      sink: { webhook: { url: "https://vault.example.com/in", secret: "0123456789abcdef0123" } },
      schedule: "0 3 * * *",
      alertEmail: "secops@example.com",
      webhookRotators: {
        billing: { url: "https://billing.example.com/rotate", secret: "0123456789abcdef0123" },
      },
    };
    const parsed = nhiRotationSchema.parse(written);
    expect(parsed.sink).toEqual({ webhook: { ...written.sink.webhook, timeoutMs: 10_000 } });
    expect(parsed.webhookRotators.billing?.timeoutMs).toBe(10_000);
    for (const path of [
      ["sink", "webhook", "url"],
      ["sink", "webhook", "secret"],
      ["webhookRotators", "billing", "url"],
      ["webhookRotators", "billing", "secret"],
    ]) {
      expect([path.join("."), isSecretAt(nhiRotationSchema, written, path)]).toEqual([path.join("."), true]);
    }
    for (const path of [["alertEmail"], ["schedule"]]) {
      expect(isSecretAt(nhiRotationSchema, written, path)).toBe(false);
    }
  });

  it("refuses a sink that is neither a file nor a webhook, a short key, and a bad address", () => {
    expect(nhiRotationSchema.safeParse({ sink: {} }).success).toBe(false);
    expect(
      nhiRotationSchema.safeParse({ sink: { file: "a", webhook: { url: "https://x.test" } } }).success,
    ).toBe(false);
    expect(
      nhiRotationSchema.safeParse({ sink: { webhook: { url: "https://x.test/in", secret: "short" } } })
        .success,
    ).toBe(false);
    expect(nhiRotationSchema.safeParse({ sink: { file: "a" }, alertEmail: "nobody" }).success).toBe(false);
    expect(nhiRotationSchema.safeParse({ sink: { file: "a" }, schedule: "every day" }).success).toBe(false);
  });
});
