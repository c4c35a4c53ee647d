import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { passwordValueMatches, sshaHash } from "./ldap-rotation.js";

const value = (text: string) => Buffer.from(text, "utf8");

describe("ldap rotation password values", () => {
  it("hashes as {SSHA} with a fresh salt each time, never holding the secret", () => {
    const a = sshaHash("s3cret-value");
    const b = sshaHash("s3cret-value");
    expect(a).toMatch(/^\{SSHA\}[A-Za-z0-9+/]+=*$/);
    expect(a).not.toBe(b);
    expect(a).not.toContain("s3cret-value");
    expect(Buffer.from(a.slice(6), "base64")).toHaveLength(28);
  });

  it("tells the secret's own values from the others", () => {
    const secret = "new-secret";
    expect(passwordValueMatches(value(sshaHash(secret)), secret)).toBe(true);
    expect(passwordValueMatches(value(sshaHash("old-secret")), secret)).toBe(false);
    const sha = `{SHA}${createHash("sha1").update(secret).digest("base64")}`;
    expect(passwordValueMatches(value(sha), secret)).toBe(true);
    expect(passwordValueMatches(value(sha), "other")).toBe(false);
    expect(passwordValueMatches(value(secret), secret)).toBe(true);
    expect(passwordValueMatches(value(`${secret}x`), secret)).toBe(false);
    // Schemes it cannot check count among the others (retired), never as the new one.
    expect(passwordValueMatches(value("{CRYPT}$6$abc$def"), secret)).toBe(false);
    expect(passwordValueMatches(value("{SSHA}AAAA"), secret)).toBe(false);
  });
});
