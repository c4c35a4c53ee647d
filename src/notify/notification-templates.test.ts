import { describe, expect, it } from "vitest";
import { EVENT_DEFINITIONS, NOTIFICATION_EVENTS, placeholdersOf } from "./notification-events.js";
import {
  compileTemplate,
  escapeSlack,
  mustCompile,
  NotificationTemplateError,
  oneLine,
  plainText,
  renderTemplate,
} from "./notification-templates.js";

const names = ["system", "username", "error"];

describe("compileTemplate", () => {
  it("splits text and placeholders, with spaces allowed inside the braces", () => {
    const result = compileTemplate("{{system}}: {{ username }} failed", names);
    expect(result).toEqual({
      ok: true,
      template: {
        source: "{{system}}: {{ username }} failed",
        parts: [
          { placeholder: "system", offset: 0 },
          { text: ": " },
          { placeholder: "username", offset: 12 },
          { text: " failed" },
        ],
      },
    });
  });

  it("points at an unknown placeholder and suggests the nearest", () => {
    expect(compileTemplate("user {{usrname}} in {{system}}", names)).toEqual({
      ok: false,
      problem: { message: "unknown placeholder 'usrname' — did you mean 'username'?", offset: 5 },
    });
    const far = compileTemplate("{{colour}}", names);
    expect(far.ok || far.problem.message).toBe(
      "unknown placeholder 'colour': this event has system, username, error",
    );
  });

  it("refuses a '{{' that does not form a placeholder, at that '{{'", () => {
    for (const [text, offset] of [
      ["a {{system", 2],
      ["{{}}", 0],
      ["x {{ two words }}", 2],
    ] as const) {
      const result = compileTemplate(text, names);
      expect(result.ok).toBe(false);
      if (!result.ok) expect(result.problem.offset).toBe(offset);
    }
  });

  it("every built-in template compiles against its event's placeholders", () => {
    for (const event of NOTIFICATION_EVENTS) {
      const { subject, text } = EVENT_DEFINITIONS[event].template;
      expect(compileTemplate(subject, placeholdersOf(event)).ok, `${event} subject`).toBe(true);
      expect(compileTemplate(text, placeholdersOf(event)).ok, `${event} text`).toBe(true);
    }
  });
});

describe("renderTemplate", () => {
  const template = mustCompile("<b>{{username}}</b> & {{error}}", names);

  it("escapes values, not the template's own text, for Slack mrkdwn", () => {
    const out = renderTemplate(template, { username: "<!channel>", error: "a & b > c" }, escapeSlack, "t");
    expect(out).toBe("<b>&lt;!channel&gt;</b> & a &amp; b &gt; c");
  });

  it("keeps values as they are for plain text", () => {
    expect(renderTemplate(template, { username: "<x>", error: "&" }, plainText, "t")).toBe("<b><x></b> & &");
  });

  it("fails with the placeholder and the template named when the data lacks a value", () => {
    const render = () =>
      renderTemplate(template, { username: "ada" }, plainText, "template of operation.dead, text");
    expect(render).toThrow(NotificationTemplateError);
    expect(render).toThrow(
      "template of operation.dead, text: placeholder {{error}} has no value in the event's data",
    );
  });
});

describe("oneLine", () => {
  it("turns line breaks and control characters into single spaces, so a subject stays one header", () => {
    expect(oneLine("Ada\r\nBcc: eve@example.com\t \u0007x ")).toBe("Ada Bcc: eve@example.com x");
  });
});

describe("event values", () => {
  it("render a missing optional value as (none), never null or undefined", () => {
    const values = EVENT_DEFINITIONS["operation.dead"].values({
      operationId: "op-1",
      system: "wiki",
      kind: "disable",
      username: "orphan",
      identity: null,
      entitlement: null,
      error: "boom",
      attempts: 5,
    });
    expect(values).toMatchObject({ identity: "(none)", entitlement: "(none)", attempts: "5" });
    expect(Object.values(values).join(" ")).not.toMatch(/null|undefined/);
  });

  it("lists each system and source past the mass-change threshold on a line of its own", () => {
    const values = EVENT_DEFINITIONS["mass-change.stopped"].values({
      run: "provisioning",
      actor: "cli:alice",
      planHash: "0".repeat(64),
      systems: [
        { kind: "system", name: "wiki", disable: 12, delete: 1, total: 40 },
        { kind: "source", name: "hr", disable: 30, delete: 0, total: 200 },
      ],
    });
    expect(values.systems).toBe(
      "- system wiki: disable 12, delete 1 of 40 accounts\n- source hr: terminate 30 of 200 people",
    );
    expect(values.names).toBe("system wiki, source hr");
  });

  it("bucket connector.unreachable by the configured window, one key per system per window", () => {
    const key = (iso: string, system = "ldap") =>
      EVENT_DEFINITIONS["connector.unreachable"].dedupeKey(
        { system, error: "down", since: iso },
        new Date(iso),
        { unreachableWindowMinutes: 30 },
      );
    expect(key("2026-12-01T10:01:00Z")).toBe(key("2026-12-01T10:29:59Z"));
    expect(key("2026-12-01T10:31:00Z")).not.toBe(key("2026-12-01T10:29:59Z"));
    expect(key("2026-12-01T10:01:00Z", "wiki")).not.toBe(key("2026-12-01T10:01:00Z"));
  });
});
