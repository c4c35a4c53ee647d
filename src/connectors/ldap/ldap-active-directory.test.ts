import { describe, expect, it } from "vitest";
import {
  adCommonName,
  encodeUnicodePwd,
  generateAdPassword,
  invalidSamAccountNameReason,
  NEW_ACCOUNT_UAC,
  objectGuidBytes,
  objectGuidToString,
  uacEnabled,
  withAccountDisabled,
} from "./ldap-active-directory.js";

describe("userAccountControl", () => {
  it("sets and clears only ACCOUNTDISABLE", () => {
    expect(NEW_ACCOUNT_UAC).toBe(514);
    expect(withAccountDisabled(512, true)).toBe(514);
    expect(withAccountDisabled(514, false)).toBe(512);
    // DONT_EXPIRE_PASSWORD (0x10000) and SMARTCARD_REQUIRED (0x40000) survive both ways.
    expect(withAccountDisabled(0x50200, true)).toBe(0x50202);
    expect(withAccountDisabled(0x50202, false)).toBe(0x50200);
    expect(withAccountDisabled(514, true)).toBe(514);
  });
  it("reads enabled from the decimal value; unreadable means disabled", () => {
    expect(uacEnabled("512")).toBe(true);
    expect(uacEnabled("66048")).toBe(true);
    expect(uacEnabled("514")).toBe(false);
    expect(uacEnabled(undefined)).toBe(false);
    expect(uacEnabled("x")).toBe(false);
  });
});

describe("objectGUID", () => {
  // Bytes as Samba returned them, and the text form its own messages print for them.
  const bytes = Buffer.from("b979a17b18bb224da3e130d6e273fc59", "hex");
  const text = "7ba179b9-bb18-4d22-a3e1-30d6e273fc59";

  it("prints the first three groups little-endian", () => {
    expect(objectGuidToString(bytes)).toBe(text);
    expect(objectGuidToString(Buffer.alloc(3))).toBe("");
  });
  it("turns the text form back into the bytes; anything else matches nothing", () => {
    expect(objectGuidBytes(text)).toEqual(bytes);
    expect(objectGuidBytes(text.toUpperCase())).toEqual(bytes);
    expect(objectGuidBytes("*")).toBeUndefined();
    expect(objectGuidBytes("entryUUID-like-but-not")).toBeUndefined();
  });
});

describe("unicodePwd", () => {
  it("is the quoted password in UTF-16LE", () => {
    expect(encodeUnicodePwd("Zoë1")).toEqual(
      Buffer.from([0x22, 0, 0x5a, 0, 0x6f, 0, 0xeb, 0, 0x31, 0, 0x22, 0]),
    );
  });
});

describe("sAMAccountName", () => {
  it("accepts what AD accepts", () => {
    for (const name of ["O'Brien", "#admin", "zoë-ltd", "a.b", "x"]) {
      expect(invalidSamAccountNameReason(name), name).toBeUndefined();
    }
  });
  it("refuses AD's forbidden characters, more than 20 characters and a trailing period", () => {
    expect(invalidSamAccountNameReason("Zoë, Ltd+")).toBe("must not contain , +");
    expect(invalidSamAccountNameReason("*)(uid=*))(|(uid=*")).toMatch(/^must not contain .*\*/);
    expect(invalidSamAccountNameReason("a".repeat(21))).toBe("must be at most 20 characters");
    expect(invalidSamAccountNameReason("abc.")).toBe("must not end with a period");
    expect(invalidSamAccountNameReason(" ")).toBe("must not be empty");
    expect(invalidSamAccountNameReason("a\u0000b")).toBe("must not contain control characters");
  });
});

describe("adCommonName", () => {
  it("cuts to 64 characters and makes room for the username when the name was taken", () => {
    expect(adCommonName("Zoë, Ltd+")).toBe("Zoë, Ltd+");
    expect([...adCommonName("x".repeat(80))]).toHaveLength(64);
    expect(adCommonName("Jane Smith", "jsmith2")).toBe("Jane Smith (jsmith2)");
    const long = adCommonName("y".repeat(80), "jsmith2");
    expect([...long]).toHaveLength(64);
    expect(long.endsWith(" (jsmith2)")).toBe(true);
  });
});

describe("generateAdPassword", () => {
  it("has upper case, lower case and digits, and none of the names' parts", () => {
    for (let i = 0; i < 200; i++) {
      const password = generateAdPassword("abc", ["Zoë O'Brien", "x-y"]);
      expect(password).toMatch(/[A-Z]/);
      expect(password).toMatch(/[a-z]/);
      expect(password).toMatch(/[0-9]/);
      expect(password.toLowerCase()).not.toContain("abc");
      expect(password.toLowerCase()).not.toContain("zoë");
      expect(password.length).toBeGreaterThanOrEqual(32);
    }
  });
  it("differs every time", () => {
    expect(new Set(Array.from({ length: 50 }, () => generateAdPassword("someone"))).size).toBe(50);
  });
});
