// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the tests show the literal ${env:…} syntax of tenure.yaml.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { redactor, redactSecrets, redactUrl } from "./redact.js";

describe("redactUrl", () => {
  it.each([
    ["postgres://app:hunter22@db:5432/tenure", "postgres://app:***@db:5432/tenure"],
    // An unencoded '@' or '/' in the password: everything up to the last '@' is hidden.
    ["postgres://app:p@ss/w0rd@db/tenure", "postgres://app:***@db/tenure"],
    [
      "postgres://db/tenure?user=app&password=hunter22&sslmode=require",
      "postgres://db/tenure?user=app&password=***&sslmode=require",
    ],
    [
      "https://hooks.example.com/x?access_token=abc123&api_key=k9",
      "https://hooks.example.com/x?access_token=***&api_key=***",
    ],
    ["postgres://app:${env:DB_PASSWORD}@db/tenure", "postgres://app:${env:DB_PASSWORD}@db/tenure"],
    ["sqlite:./tenure.db", "sqlite:./tenure.db"],
  ])("%s → %s", (url, shown) => {
    expect(redactUrl(url)).toBe(shown);
  });
});

describe("redactSecrets", () => {
  it("masks URL passwords inside a free text, quoted or not", () => {
    expect(redactSecrets(`connect "ldaps://cn=admin:s3cret@ldap:636" failed; mysql://u:p%40ss@h/d`)).toBe(
      `connect "ldaps://cn=admin:***@ldap:636" failed; mysql://u:***@h/d`,
    );
  });

  it("masks every known secret of three characters or more, and its URL-encoded form", () => {
    const redact = redactor(["p@ss word", "abc", "ab"]);
    expect(redact("sent p@ss word and p%40ss%20word, abc and ab")).toBe("sent *** and ***, *** and ab");
  });

  it("masks a secret that contains another as a whole", () => {
    expect(redactSecrets("token abcdef", ["abc", "abcdef"])).toBe("token ***");
  });

  it("leaves no secret of three characters or more in any text that held it", () => {
    fc.assert(
      fc.property(fc.string(), fc.string({ minLength: 3 }), fc.string(), (before, secret, after) => {
        fc.pre(!secret.includes("*"));
        expect(redactSecrets(`${before}${secret}${after}`, [secret])).not.toContain(secret);
      }),
    );
  });
});
