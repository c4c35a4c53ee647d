// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these strings are tenure.yaml text, where ${env:…} is a literal reference.
import { describe, expect, it } from "vitest";
import { type ConfigIssue, validateConfigText } from "../policy/config-loader.js";
import { redactConfig } from "../policy/config-redaction.js";
import type { TenureConfig } from "../policy/config-types.js";
import { parseSmtpUrl } from "./notify-section.js";

const SMTP_PASSWORD = "s3cret-smtp-pa55";
const SLACK_URL = "https://hooks.slack.com/services/T0AAAAAAA/B0BBBBBBB/xoxSlackToken1234567890";
const env = { SMTP_PASSWORD, SLACK_WEBHOOK: SLACK_URL, HOOK_SECRET: "a-signing-secret-of-32-characters" };

async function load(lines: readonly string[]) {
  return validateConfigText(`${lines.join("\n")}\n`, { path: "/etc/tenure/tenure.yaml", env });
}

async function errorsOf(lines: readonly string[]): Promise<ConfigIssue[]> {
  const { config, errors } = await load(lines);
  expect(config).toBeUndefined();
  return [...errors];
}

/** Line (1-based) and column of `token` on that line, read off the YAML. */
function at(lines: readonly string[], line: number, token: string): { line: number; column: number } {
  const column = (lines[line - 1] ?? "").indexOf(token);
  if (column < 0) throw new Error(`'${token}' is not on line ${line}: ${lines[line - 1]}`);
  return { line, column: column + 1 };
}

const valid = [
  "notify:", // 1
  "  email:", // 2
  '    smtp: "smtp://alerts:${env:SMTP_PASSWORD}@mail.example.com:587"', // 3
  '    from: "Tenure <tenure@example.com>"', // 4
  "  webhooks:", // 5
  "    slack-secops:", // 6
  '      url: "${env:SLACK_WEBHOOK}"', // 7
  "    siem:", // 8
  "      url: https://siem.example.com/hooks/tenure", // 9
  "      format: json", // 10
  '      secret: "${env:HOOK_SECRET}"', // 11
  "  routes:", // 12
  "    operation.dead:", // 13
  "      - email: [secops@example.com]", // 14
  "      - webhook: slack-secops", // 15
  "    contractor.expiry-warning:", // 16
  '      - email: ["{{managerEmail}}", hr@example.com]', // 17
  "  templates:", // 18
  "    operation.dead:", // 19
  '      subject: "Dead: {{kind}} of {{username}} in {{system}}"', // 20
  "  retry: { maxAttempts: 3 }", // 21
];

describe("notify section", () => {
  it("loads channels, routes and template overrides, with defaults for the rest", async () => {
    const { config, errors } = await load(valid);
    expect(errors).toEqual([]);
    expect(config?.notify).toEqual({
      email: {
        host: "mail.example.com",
        port: 587,
        secure: false,
        requireTLS: false,
        auth: { user: "alerts", pass: SMTP_PASSWORD },
        from: "Tenure <tenure@example.com>",
        timeoutSeconds: 30,
      },
      webhooks: {
        "slack-secops": {
          name: "slack-secops",
          url: SLACK_URL,
          format: "slack",
          secret: null,
          timeoutSeconds: 10,
        },
        siem: {
          name: "siem",
          url: "https://siem.example.com/hooks/tenure",
          format: "json",
          secret: env.HOOK_SECRET,
          timeoutSeconds: 10,
        },
      },
      routes: {
        "operation.dead": [{ email: ["secops@example.com"] }, { webhook: "slack-secops" }],
        "contractor.expiry-warning": [{ email: ["{{managerEmail}}", "hr@example.com"] }],
        // Person-directed events go to that person by email unless routed otherwise.
        "request.decision-needed": [{ email: ["{{to}}"] }],
        "request.decided": [{ email: ["{{to}}"] }],
        "access.expiring": [{ email: ["{{to}}"] }],
        "access.break-glass": [{ email: ["{{to}}"] }],
        "sod.violation": [{ email: ["{{to}}"] }],
        "sod.exception-ended": [{ email: ["{{to}}"] }],
        "review.assigned": [{ email: ["{{to}}"] }],
        "review.reminder": [{ email: ["{{to}}"] }],
        "review.birthright-refused": [{ email: ["{{to}}"] }],
        "review.revocation-failed": [{ email: ["{{to}}"] }],
        "dormant.notice": [{ email: ["{{to}}"] }],
        "nhi.rotation-failed": [{ email: ["{{to}}"] }],
        "nhi.owner-pending": [{ email: ["{{to}}"] }],
        "nhi.ownerless": [{ email: ["{{to}}"] }],
        "nhi.expiring": [{ email: ["{{to}}"] }],
        "nhi.owner-assigned": [{ email: ["{{to}}"] }],
        "nhi.removed": [{ email: ["{{to}}"] }],
        "joiner.accounts-created": [{ email: ["{{to}}"] }],
      },
      templates: { "operation.dead": { subject: "Dead: {{kind}} of {{username}} in {{system}}" } },
      retry: { maxAttempts: 3, baseDelaySeconds: 60, maxDelaySeconds: 3600 },
      unreachableWindowMinutes: 60,
    });
  });

  it("is absent from a file without notify:, so nothing is sent", async () => {
    const { config } = await load(["lifecycle: {}"]);
    expect(config).toBeDefined();
    expect(config?.notify).toBeUndefined();
  });

  it("takes the server as host, port, secure and auth too", async () => {
    const { config, errors } = await load([
      "notify:",
      "  email:",
      "    host: mail.example.com",
      "    port: 465",
      '    auth: { user: alerts, pass: "${env:SMTP_PASSWORD}" }',
      "    from: tenure@example.com",
    ]);
    expect(errors).toEqual([]);
    expect(config?.notify?.email).toMatchObject({
      host: "mail.example.com",
      port: 465,
      secure: true,
      auth: { user: "alerts", pass: SMTP_PASSWORD },
    });
  });

  it("places a template's unknown placeholder at its characters, with a suggestion", async () => {
    const lines = [...valid];
    lines[19] = '      subject: "Dead: {{kind}} of {{usrname}}"';
    const [issue, ...rest] = await errorsOf(lines);
    expect(rest).toEqual([]);
    expect(issue).toEqual({
      file: "/etc/tenure/tenure.yaml",
      ...at(lines, 20, "{{usrname"),
      path: 'notify.templates["operation.dead"].subject',
      message: "unknown placeholder 'usrname' — did you mean 'username'?",
    });
  });

  it("refuses a recipient placeholder that is not a field of the event", async () => {
    const lines = [...valid];
    lines[16] = '      - email: ["{{managerEmial}}"]';
    const issues = await errorsOf(lines);
    expect(issues).toEqual([
      expect.objectContaining({
        ...at(lines, 17, "{{managerEmial"),
        path: 'notify.routes["contractor.expiry-warning"][0].email[0]',
        message: "unknown placeholder 'managerEmial' — did you mean 'managerEmail'?",
      }),
    ]);
  });

  it("reports an unknown event, a route to an unknown webhook, and email without notify.email", async () => {
    const lines = [
      "notify:", // 1
      "  webhooks:", // 2
      "    slack-secops: { url: https://hooks.example.com/x }", // 3
      "  routes:", // 4
      "    operation.died:", // 5
      "      - webhook: slack-secops", // 6
      "    connector.unreachable:", // 7
      "      - webhook: slack-secop", // 8
      "      - email: [secops@example.com]", // 9
    ];
    const unknownEvent = await errorsOf(lines);
    expect(unknownEvent).toEqual([
      expect.objectContaining({
        ...at(lines, 5, "operation.died"),
        message: "unknown key 'operation.died' — did you mean 'operation.dead'?",
      }),
    ]);
    lines[4] = "    operation.dead:";
    const references = await errorsOf(lines);
    expect(references).toEqual([
      expect.objectContaining({
        ...at(lines, 8, "slack-secop"),
        message: "unknown webhook 'slack-secop' — did you mean 'slack-secops'?",
      }),
      expect.objectContaining({
        ...at(lines, 9, "["),
        message: "email is not configured: add notify.email (the SMTP server and from address)",
      }),
    ]);
  });

  it("says what is wrong with the SMTP server, never showing the password", async () => {
    const issues = await errorsOf([
      "notify:", // 1
      "  email:", // 2
      '    smtp: "smtp://alerts:${env:SMTP_PASSWORD}@mail.example.com:587"', // 3
      "    port: 25", // 4
      "    from: not-an-address", // 5
      "  routes:", // 6
      "    operation.dead:", // 7
      "      - { email: [secops@example.com], webhook: x }", // 8
      "      - email: secops@example.com", // 9
    ]);
    const messages = issues.map((i) => `${i.line}: ${i.message}`);
    expect(messages).toEqual([
      "4: 'port' cannot be combined with smtp: give the server either as a URL or as host, port, secure and auth, found 25",
      expect.stringMatching(/^5: expected the sender's address/),
      expect.stringMatching(/^8: expected one target per list item: email: or webhook:, not both/),
      '9: expected a list, found "secops@example.com"',
    ]);
    const neither = await errorsOf(["notify:", "  email:", "    from: tenure@example.com"]);
    expect(neither).toEqual([
      expect.objectContaining({
        line: 3,
        path: "notify.email",
        message: expect.stringMatching(/^expected the SMTP server: smtp:/),
      }),
    ]);
    const bad = await errorsOf([
      "notify:",
      "  email:",
      '    smtp: "mail.example.com"',
      "    from: a@example.com",
    ]);
    expect(bad[0]?.message).toContain("expected smtp://USER:PASSWORD@HOST:PORT");
    expect(JSON.stringify([issues, bad])).not.toContain(SMTP_PASSWORD);
  });

  it("redactConfig shows references as written and hides inline secrets", async () => {
    const { config } = await load(valid);
    const shown = JSON.stringify(redactConfig(config as TenureConfig));
    expect(shown).not.toContain(SMTP_PASSWORD);
    expect(shown).not.toContain("xoxSlackToken");
    expect(shown).not.toContain(env.HOOK_SECRET);
    const notify = redactConfig(config as TenureConfig).notify;
    expect(notify?.webhooks["slack-secops"]?.url).toBe("${env:SLACK_WEBHOOK}");
    expect(notify?.webhooks.siem?.url).toBe("https://siem.example.com/***");
    expect(notify?.webhooks.siem?.secret).toBe("${env:HOOK_SECRET}");
    expect(notify?.email?.auth?.pass).toBe("***");
  });
});

describe("parseSmtpUrl", () => {
  it.each([
    ["smtp://mail.example.com", { host: "mail.example.com", port: 587, secure: false, auth: null }],
    [
      "smtps://u:p@mail.example.com",
      { host: "mail.example.com", port: 465, secure: true, auth: { user: "u", pass: "p" } },
    ],
    [
      "smtp://u:p%40ss@127.0.0.1:2525/",
      { host: "127.0.0.1", port: 2525, secure: false, auth: { user: "u", pass: "p@ss" } },
    ],
    // An unencoded '@' or '/' in the password: the last '@' ends the credentials.
    [
      "smtp://u:p@s/s@mail.example.com:25",
      { host: "mail.example.com", port: 25, secure: false, auth: { user: "u", pass: "p@s/s" } },
    ],
  ])("%s", (url, parts) => {
    expect(parseSmtpUrl(url)).toEqual(parts);
  });

  it.each(["mail.example.com", "http://mail.example.com", "smtp://", "smtp://host:99999", "smtp://:pw@host"])(
    "refuses %s",
    (url) => {
      expect(parseSmtpUrl(url)).toBeUndefined();
    },
  );
});
