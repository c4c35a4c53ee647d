// biome-ignore-all lint/suspicious/noTemplateCurlyInString: messages show the literal ${env:…} / ${file:…} syntax of tenure.yaml.
import path from "node:path";
import { z } from "zod";
import type { AuditConfig, HeadSinkConfig } from "../../audit/audit-config.js";
import { describeNonSigningKey } from "../../audit/ledger-signing.js";
import { strictObject } from "../../config/schema-helpers.js";
import type { PolicyContext } from "../../config/section-types.js";
import type { NotifyConfig } from "../../notify/notify-config.js";
import { secret } from "../../shared/secret-field.js";
import { cronPattern } from "./schedule-section.js";

const KEY_EXPECTED =
  "expected a PKCS#8 PEM Ed25519 private key (`tenure audit keygen --out FILE` writes one)";
const EMAIL_ADDRESS = /^[^\s@<>,;"]+@[^\s@<>,;"]+\.[^\s@<>,;"]+$/;
const EMAIL_EXPECTED = "expected an email address, or a list of them";
const URL_EXPECTED = "expected an http(s) URL";
const positiveSeconds = "expected a whole number of seconds, at least 1";

// The message names the kind of text found (an RSA key, a public key), never the text: it is a secret.
const signingKey = secret(
  z.string({ error: KEY_EXPECTED }).superRefine((pem, ctx) => {
    const wrong = describeNonSigningKey(pem);
    if (wrong !== undefined) ctx.addIssue({ code: "custom", message: `${KEY_EXPECTED}; found ${wrong}` });
  }),
);

function isHttpUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return (url.protocol === "https:" || url.protocol === "http:") && url.hostname !== "";
  } catch {
    return false;
  }
}

const emailAddress = z.string({ error: EMAIL_EXPECTED }).regex(EMAIL_ADDRESS, { error: EMAIL_EXPECTED });

/** One entry of `audit.publish.to`: exactly one of `file`, `webhook`, `email`. */
const sinkSchema = strictObject({
  file: z.string({ error: "expected the path of the heads file" }).min(1).optional(),
  webhook: strictObject({
    url: secret(z.string({ error: URL_EXPECTED }).refine(isHttpUrl, { error: URL_EXPECTED })),
    secret: secret(
      z.string().min(1, { error: "expected the signing secret, written as ${env:…} or ${file:…}" }),
    ).optional(),
    timeoutSeconds: z
      .number({ error: positiveSeconds })
      .int({ error: positiveSeconds })
      .min(1, { error: positiveSeconds })
      .default(10),
  }).optional(),
  email: z.union([emailAddress, z.array(emailAddress).min(1, { error: EMAIL_EXPECTED })]).optional(),
}).superRefine((sink, ctx) => {
  const kinds = (["file", "webhook", "email"] as const).filter((k) => sink[k] !== undefined);
  if (kinds.length !== 1) {
    ctx.addIssue({
      code: "custom",
      message:
        kinds.length === 0
          ? "expected one sink: file: PATH, webhook: { url, secret }, or email: ADDRESS"
          : `expected one sink per entry, but this one names ${kinds.join(" and ")}: write each as an entry of its own`,
    });
  }
});

/**
 * `audit:` — the ledger's proof beyond the database (docs/audit-verify.md): `signing.key`, the Ed25519
 * key heads and exports are signed with, and `publish`, where and when signed heads are published.
 */
export const auditSection = strictObject({
  signing: strictObject({ key: signingKey }).optional(),
  publish: strictObject({
    schedule: cronPattern().default("0 * * * *"),
    to: z.array(sinkSchema).min(1, { error: "expected at least one sink: file, webhook or email" }),
  }).optional(),
});

export type AuditFile = z.output<typeof auditSection>;

/**
 * The `audit:` section as `TenureConfig.audit`: file sinks made absolute against the config's folder.
 * Reports publishing without `signing.key`, and an email sink without `notify.email` to send it.
 */
export function resolveAudit(
  value: AuditFile,
  ctx: PolicyContext,
  notify: NotifyConfig | undefined,
): AuditConfig {
  if (value.publish === undefined) return value.signing === undefined ? {} : { signing: value.signing };
  if (value.signing === undefined) {
    ctx.report(["audit", "publish"], "publishing signs each head: audit.signing.key is needed too", "key");
  }
  const to = value.publish.to.map((sink, i): HeadSinkConfig => {
    if (sink.file !== undefined) return { kind: "file", path: path.resolve(ctx.baseDir, sink.file) };
    if (sink.webhook !== undefined) {
      return {
        kind: "webhook",
        url: sink.webhook.url,
        secret: sink.webhook.secret ?? null,
        timeoutSeconds: sink.webhook.timeoutSeconds,
      };
    }
    if ((notify?.email ?? null) === null) {
      ctx.report(
        ["audit", "publish", "to", i, "email"],
        "an email sink needs notify.email (the SMTP server) to send it",
      );
    }
    const email = sink.email ?? [];
    return { kind: "email", to: typeof email === "string" ? [email] : email };
  });
  return {
    ...(value.signing === undefined ? {} : { signing: value.signing }),
    publish: { schedule: value.publish.schedule, to },
  };
}
