// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these strings are tenure.yaml text, where ${env:…} is a literal reference.
/**
 * `tenure notify test` and `tenure notify deliver` as a user runs them, against a real SMTP server and
 * HTTP receiver on loopback: a test message through each channel, a usage error naming the channels,
 * and a sync stopped by mass-change protection whose notification `deliver` then emails.
 */
import { randomBytes } from "node:crypto";
import { appendFile, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { type HttpReceiver, startHttpReceiver } from "../helpers/http-receiver.js";
import { type SmtpSink, startSmtpSink } from "../helpers/smtp-sink.js";
import { tempDir } from "../helpers/workspace.js";

const PASSWORD = `pw-${randomBytes(8).toString("hex")}`;
const TOKEN = `tok${randomBytes(12).toString("hex")}`;

describe("tenure notify", () => {
  let dir: string;
  let dispose: () => Promise<void>;
  let sink: SmtpSink;
  let receiver: HttpReceiver;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    ({ dir, dispose } = await tempDir("tenure-notify-cli-"));
    sink = await startSmtpSink({ user: "alerts", pass: PASSWORD });
    receiver = await startHttpReceiver();
    env = {
      TENURE_NOW: "2026-11-21T10:00:00Z",
      SMTP_PASSWORD: PASSWORD,
      SLACK_WEBHOOK: `${receiver.base}/services/T0/B0/${TOKEN}`,
    };
    expect((await runCli(["init", dir])).code).toBe(0);
    await appendFile(
      path.join(dir, "tenure.yaml"),
      [
        "",
        "notify:",
        "  email:",
        `    smtp: "smtp://alerts:\${env:SMTP_PASSWORD}@127.0.0.1:${sink.port}"`,
        "    from: tenure@example.test",
        "  webhooks:",
        '    slack: { url: "${env:SLACK_WEBHOOK}" }',
        "  routes:",
        "    mass-change.stopped:",
        "      - email: [secops@example.test]",
        "",
      ].join("\n"),
    );
  });
  afterAll(async () => {
    await Promise.all([sink.stop(), receiver.stop()]);
    await dispose();
  });

  it("test sends a message through the email channel and through a webhook", async () => {
    const email = await runCli(["notify", "test", "--channel", "email", "--to", "ops@example.test"], {
      cwd: dir,
      env,
    });
    expect(email.stderr).not.toContain("error");
    expect(email.code).toBe(0);
    expect(email.stdout).toContain("test message sent through email to ops@example.test");
    const [mail] = await sink.waitFor(1);
    expect(mail).toMatchObject({
      to: ["ops@example.test"],
      subject: "Tenure test notification",
      user: "alerts",
    });

    const slack = await runCli(["notify", "test", "--channel", "slack", "--json"], { cwd: dir, env });
    expect(slack.code).toBe(0);
    expect(JSON.parse(slack.stdout)).toEqual({ channel: "slack", recipient: "slack", sent: true });
    expect(receiver.received).toHaveLength(1);
    expect(JSON.parse(receiver.received[0]!.body).text).toBe("Tenure test notification");
  });

  it("test names the configured channels when given another, and needs --to for email", async () => {
    const unknown = await runCli(["notify", "test", "--channel", "teams"], { cwd: dir, env });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("--channel teams: not a configured channel; configured: email, slack");
    const noTo = await runCli(["notify", "test", "--channel", "email"], { cwd: dir, env });
    expect(noTo.code).toBe(2);
    expect(noTo.stderr).toContain("--to ADDRESS");
  });

  it("test reports a refused delivery without the webhook's token", async () => {
    const down = await runCli(["notify", "test", "--channel", "slack"], {
      cwd: dir,
      env: { ...env, SLACK_WEBHOOK: `http://127.0.0.1:9/services/T0/B0/${TOKEN}` },
    });
    expect(down.code).toBe(1);
    expect(down.stderr).toContain("webhook slack: POST http://127.0.0.1:9/…");
    expect(down.stderr).not.toContain(TOKEN);
  });

  it("deliver sends what a stopped sync queued, and then has nothing left to send", async () => {
    expect((await runCli(["sync"], { cwd: dir, env })).code).toBe(0);
    const config = await readFile(path.join(dir, "tenure.yaml"), "utf8");
    await writeFile(
      path.join(dir, "tenure.yaml"),
      config.replace("missingMeans: ignore", "missingMeans: terminate"),
    );
    const csv = (await readFile(path.join(dir, "hr.csv"), "utf8")).split("\n");
    await writeFile(path.join(dir, "hr.csv"), `${csv.slice(0, 3).join("\n")}\n`);
    const stopped = await runCli(["sync"], { cwd: dir, env });
    expect(stopped.code).toBe(3);

    const before = sink.messages.length;
    const deliver = await runCli(["notify", "deliver", "--json"], { cwd: dir, env });
    expect(deliver.code).toBe(0);
    const result = JSON.parse(deliver.stdout);
    expect(result.summary).toMatchObject({ claimed: 1, sent: 1, failed: 0, dead: 0 });
    expect(result.outcomes[0]).toMatchObject({
      event: "mass-change.stopped",
      recipient: "secops@example.test",
    });
    const mails = await sink.waitFor(before + 1);
    const mail = mails.at(-1);
    expect(mail?.subject).toBe("Tenure: sync of source hr stopped by mass-change protection");
    expect(mail?.text).toMatch(/- source hr: terminate \d+ of \d+ people/);

    const again = await runCli(["notify", "deliver"], { cwd: dir, env });
    expect(again.code).toBe(0);
    expect(again.stdout).toContain("notifications: 0 sent, 0 failed (will retry), 0 dead");
  });
});
