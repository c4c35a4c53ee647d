/**
 * What Active Directory does differently from an RFC 4519 directory, as pure functions the `ldap`
 * connector uses in `directory: activeDirectory` mode: the `userAccountControl` flags, `objectGUID`
 * as a native id, `unicodePwd`, and the rules for `sAMAccountName`, `cn` and generated passwords.
 * Samba's AD DC follows the same rules (MS-ADTS, MS-SAMR), which is what the tests run against.
 */
import { generatePassword } from "../password-sink.js";

/** `userAccountControl` flags (MS-ADTS 2.2.16) the connector reads or writes. */
export const UAC = {
  ACCOUNTDISABLE: 0x2,
  NORMAL_ACCOUNT: 0x200,
} as const;

/** A new account's flags: a normal account, disabled until its password is set (AD refuses otherwise). */
export const NEW_ACCOUNT_UAC = UAC.NORMAL_ACCOUNT | UAC.ACCOUNTDISABLE;

/** `userAccountControl` with ACCOUNTDISABLE set or cleared; every other flag is kept as it was. */
export function withAccountDisabled(uac: number, disabled: boolean): number {
  return disabled ? uac | UAC.ACCOUNTDISABLE : uac & ~UAC.ACCOUNTDISABLE;
}

/** Whether a `userAccountControl` value (as the directory returns it, a decimal string) is enabled. */
export function uacEnabled(value: string | undefined): boolean {
  const uac = Number.parseInt(value ?? "", 10);
  // An entry whose flags the bind DN cannot read is reported disabled rather than guessed enabled.
  return Number.isSafeInteger(uac) && (uac & UAC.ACCOUNTDISABLE) === 0;
}

/**
 * The 16 bytes of an `objectGUID` in the usual text form (`7ba179b9-bb18-4d22-a3e1-30d6e273fc59`): the
 * first three groups are little-endian, as Windows and Samba print them.
 */
export function objectGuidToString(bytes: Buffer): string {
  if (bytes.length !== 16) return "";
  const hex = (from: number, to: number, reverse: boolean) => {
    const part = [...bytes.subarray(from, to)];
    return (reverse ? part.reverse() : part).map((b) => b.toString(16).padStart(2, "0")).join("");
  };
  return [hex(0, 4, true), hex(4, 6, true), hex(6, 8, true), hex(8, 10, false), hex(10, 16, false)].join("-");
}

/**
 * The 16 bytes of an `objectGUID` given in text form, or undefined when `guid` is not a GUID (it then
 * matches nothing, rather than being sent as is). Searched as bytes: ldapts turns `\XX` escapes above
 * 0x7f in a filter string into UTF-8 characters, which no longer match the stored bytes.
 */
export function objectGuidBytes(guid: string): Buffer | undefined {
  const m = /^([0-9a-f]{8})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{12})$/i.exec(guid.trim());
  if (m === null) return undefined;
  const bytes = (hex: string, reverse: boolean) => {
    const part = Buffer.from(hex, "hex");
    return reverse ? part.reverse() : part;
  };
  return Buffer.concat([
    bytes(m[1]!, true),
    bytes(m[2]!, true),
    bytes(m[3]!, true),
    bytes(m[4]!, false),
    bytes(m[5]!, false),
  ]);
}

/** The value of `unicodePwd`: the password in double quotes, UTF-16LE (MS-ADTS 3.1.1.3.1.5). */
export function encodeUnicodePwd(password: string): Buffer {
  return Buffer.from(`"${password}"`, "utf16le");
}

/** Characters a `sAMAccountName` may not hold (MS-SAMR 3.1.1.6, and Windows' own list). */
const SAM_FORBIDDEN = '"/\\[]:;|=,+*?<>';
/** Windows refuses logon names longer than this for user accounts (the pre-Windows 2000 limit). */
export const SAM_MAX_LENGTH = 20;

/** Why `name` cannot be a user's `sAMAccountName`, or undefined when it can. */
export function invalidSamAccountNameReason(name: string): string | undefined {
  if (name.trim() === "") return "must not be empty";
  if ([...name].length > SAM_MAX_LENGTH) return `must be at most ${SAM_MAX_LENGTH} characters`;
  const bad = [...SAM_FORBIDDEN].filter((c) => name.includes(c));
  if (bad.length > 0) return `must not contain ${bad.join(" ")}`;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
  if (/[\u0000-\u001f\u007f]/.test(name)) return "must not contain control characters";
  if (/^[. ]+$/.test(name)) return "must not consist of periods and spaces only";
  if (name.endsWith(".")) return "must not end with a period";
  return undefined;
}

/** `cn` holds at most 64 characters in Active Directory (its schema's rangeUpper). */
export const CN_MAX_LENGTH = 64;

/**
 * The `cn` of a new account: `value` cut to 64 characters, or, when `username` is given (the name was
 * taken), `value (username)` with `value` cut so the whole still fits.
 */
export function adCommonName(value: string, username?: string): string {
  const tail = username === undefined ? "" : ` (${username})`;
  const room = Math.max(1, CN_MAX_LENGTH - [...tail].length);
  const head = [...value].slice(0, room).join("").trimEnd();
  return [...`${head}${tail}`].slice(0, CN_MAX_LENGTH).join("");
}

/** What splits a display name into the parts AD's complexity rule looks for in a password. */
const NAME_DELIMITERS = /[,.\-_#\s\t]+/;

/**
 * A generated password (password-sink's 192-bit `generatePassword`) that passes AD's default
 * complexity rule: upper case, lower case and digits, and neither the account name nor any part of the
 * given names of three or more characters in it (case-insensitively). A password refused for
 * complexity would leave the account unusable, so candidates that miss are drawn again.
 */
export function generateAdPassword(samAccountName: string, names: readonly string[] = []): string {
  const avoid = [samAccountName, ...names.flatMap((n) => n.split(NAME_DELIMITERS))]
    .map((part) => part.toLowerCase())
    .filter((part) => part.length >= 3);
  for (;;) {
    const password = generatePassword();
    const lower = password.toLowerCase();
    if (!/[A-Z]/.test(password) || !/[a-z]/.test(password) || !/[0-9]/.test(password)) continue;
    if (avoid.some((part) => lower.includes(part))) continue;
    return password;
  }
}
