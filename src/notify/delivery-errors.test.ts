import { describe, expect, it } from "vitest";
import type { NotifyConfig } from "../policy/config-types.js";
import { notifySecrets, safeMessage } from "./delivery-errors.js";

const notify: NotifyConfig = {
  email: {
    host: "mail.example.com",
    port: 587,
    secure: false,
    requireTLS: false,
    auth: { user: "alerts", pass: "p@ss word/1" },
    from: "tenure@example.com",
    timeoutSeconds: 30,
  },
  webhooks: {
    slack: {
      name: "slack",
      url: "https://hooks.slack.com/services/T0AAAAAAA/B0BBBBBBB/xoxSlackToken1234567890",
      format: "slack",
      secret: null,
      timeoutSeconds: 10,
    },
    siem: {
      name: "siem",
      url: "https://siem.example.com/in?token=abcdefgh12345678",
      format: "json",
      secret: "signing-secret-0123456789",
      timeoutSeconds: 10,
    },
  },
  routes: {},
  templates: {},
  retry: { maxAttempts: 3, baseDelaySeconds: 60, maxDelaySeconds: 600 },
  unreachableWindowMinutes: 60,
};

describe("safeMessage", () => {
  const secrets = notifySecrets(notify);

  it("masks the SMTP password (as written and encoded), webhook URLs, their tokens and secrets", () => {
    const text = [
      "auth p@ss word/1 and p%40ss%20word%2F1",
      "posting https://hooks.slack.com/services/T0AAAAAAA/B0BBBBBBB/xoxSlackToken1234567890",
      "echoed xoxSlackToken1234567890 alone",
      "query ?token=abcdefgh12345678, value abcdefgh12345678",
      "signed with signing-secret-0123456789",
    ].join("; ");
    const safe = safeMessage(text, secrets);
    for (const secret of ["p@ss word/1", "p%40ss", "xoxSlackToken", "abcdefgh12345678", "signing-secret"]) {
      expect(safe).not.toContain(secret);
    }
    expect(safe).toContain("echoed *** alone");
  });

  it("turns control characters into spaces and caps the length", () => {
    expect(safeMessage("line one\r\nfake: log line\u0000", [])).toBe("line one fake: log line");
    expect(safeMessage("x".repeat(600), [])).toHaveLength(500);
  });

  it("has nothing to mask without a notify section", () => {
    expect(notifySecrets(undefined)).toEqual([]);
  });
});
