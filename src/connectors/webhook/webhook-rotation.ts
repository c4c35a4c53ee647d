import { z } from "zod";
import { redactor } from "../../shared/redact.js";
import { secret } from "../../shared/secret-field.js";
import { ConnectorError, type CredentialRotator } from "../connector-types.js";
import { postSignedJson, unexpectedAnswer } from "./webhook-post.js";
import { httpUrl } from "./webhook-schemas.js";

/**
 * A rotation webhook (tenure.yaml `nhi.rotation.webhookRotators.<system>`): for a credential no connector
 * can set (an API key of a SaaS), a receiver that sets it. Requests are signed as the webhook connector's.
 */
export const webhookRotatorConfigSchema = z.strictObject({
  /** Receives `{action: "set", system, username, nativeId, secret, sentAt}` and makes `secret` the credential. */
  url: secret(httpUrl),
  /** The HMAC-SHA256 key of the `Tenure-Signature` header. */
  secret: secret(z.string().min(16, { error: "must be at least 16 characters" })),
  /**
   * Receives `{action: "verify", system, username, secret, sentAt}` and answers 2xx when a login with
   * `secret` works (401 or 403 when it does not). Without it, the answer to `set` must say
   * `{"verified": true}`: the receiver logged in with the new secret itself.
   */
  verifyUrl: secret(httpUrl).optional(),
  /** Per-request timeout in milliseconds. */
  timeoutMs: z.number().int().positive().default(10_000),
});

export type WebhookRotatorConfig = z.output<typeof webhookRotatorConfigSchema>;

const setAnswerSchema = z.looseObject({ verified: z.boolean().optional() });

/**
 * The credential rotation of a system through its rotation webhook. The receiver replaces the credential
 * (`holdsTwo: false`). The secret travels in the signed body only, never in a message: every error is
 * masked of it, of the key and of the URLs.
 */
export function createWebhookRotator(system: string, config: WebhookRotatorConfig): CredentialRotator {
  /** Usernames whose last `set` answer said the receiver verified the new secret itself. */
  const verifiedBySet = new Set<string>();
  const post = (doing: string, url: string, body: Record<string, unknown>, secrets: string[]) =>
    postSignedJson(
      {
        system,
        doing,
        url,
        key: config.secret,
        timeoutMs: config.timeoutMs,
        redact: redactor([...secrets, config.secret, config.url, config.verifyUrl ?? config.url]),
      },
      JSON.stringify(body),
      new Date(),
    );

  return {
    holdsTwo: false,

    async setSecret(ref, newSecret) {
      verifiedBySet.delete(ref.username);
      const answer = await post(
        `setting the rotated credential of ${ref.username}`,
        config.url,
        {
          action: "set",
          system,
          username: ref.username,
          nativeId: ref.nativeId ?? null,
          secret: newSecret,
          sentAt: new Date().toISOString(),
        },
        [newSecret],
      );
      if (setAnswerSchema.safeParse(answer).data?.verified === true) verifiedBySet.add(ref.username);
    },

    async verify(ref, newSecret) {
      const doing = `verifying the rotated credential of ${ref.username}`;
      if (config.verifyUrl === undefined) {
        if (verifiedBySet.has(ref.username)) return;
        throw unexpectedAnswer(system, doing, '{"verified": true} (nor is a verifyUrl configured)');
      }
      try {
        await post(
          doing,
          config.verifyUrl,
          {
            action: "verify",
            system,
            username: ref.username,
            secret: newSecret,
            sentAt: new Date().toISOString(),
          },
          [newSecret],
        );
      } catch (err) {
        if (err instanceof ConnectorError && (err.kind === "auth" || err.kind === "permission")) {
          throw new ConnectorError(
            system,
            "auth",
            `${doing}: the verify webhook refused the new credential`,
            {
              retryable: false,
            },
          );
        }
        throw err;
      }
    },
  };
}
