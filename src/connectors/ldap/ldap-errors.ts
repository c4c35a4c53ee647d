import { redactSecrets } from "../../shared/redact.js";
import { ConnectorError } from "../connector-types.js";
import {
  AUTH,
  CONFLICT,
  type DriverErrorRules,
  type ErrorClass,
  INVALID,
  OTHER,
  PERMISSION,
  SOCKET_CODES,
  UNREACHABLE,
  wrapDriverError,
} from "../error-classes.js";

/** How an LDAP failure is reported: the ConnectorError kind and whether trying again can help. */
export type LdapErrorClass = ErrorClass;

/** The fields of ldapts result-code errors and Node socket errors the mapping reads. */
interface LdapErrorShape {
  code?: unknown;
  message?: unknown;
  errors?: unknown;
}

/** LDAP result codes (RFC 4511 §4.1.9) and what they mean for a retry. */
const RESULT_CODES: ReadonlyMap<number, LdapErrorClass> = new Map([
  [3, UNREACHABLE], // timeLimitExceeded
  [7, AUTH], // authMethodNotSupported
  [8, AUTH], // strongerAuthRequired
  [13, AUTH], // confidentialityRequired
  [48, AUTH], // inappropriateAuthentication
  [49, AUTH], // invalidCredentials
  [50, PERMISSION], // insufficientAccessRights
  [51, UNREACHABLE], // busy
  [52, UNREACHABLE], // unavailable
  [53, PERMISSION], // unwillingToPerform
  [16, INVALID], // noSuchAttribute
  [17, INVALID], // undefinedAttributeType
  [18, INVALID], // inappropriateMatching
  [19, INVALID], // constraintViolation
  [20, CONFLICT], // attributeOrValueExists
  [21, INVALID], // invalidAttributeSyntax
  [32, INVALID], // noSuchObject: a configured base that does not exist
  [34, INVALID], // invalidDNSyntax
  [64, INVALID], // namingViolation
  [65, INVALID], // objectClassViolation
  [66, INVALID], // notAllowedOnNonLeaf
  [67, INVALID], // notAllowedOnRDN
  [68, CONFLICT], // entryAlreadyExists
  [69, INVALID], // objectClassModsProhibited
]);

/**
 * Why Active Directory (and Samba AD) refused a bind: the `data XXX` in its invalidCredentials
 * message (`80090308: LdapErr: DSID-…, comment: AcceptSecurityContext error, data 533, v1db1`).
 * All are `auth`; a lockout and logon hours end by themselves, so those are worth retrying.
 */
/** RFC 4511 result codes in words, as an administrator reads them. */
const RESULT_WORDS: ReadonlyMap<number, string> = new Map([
  [1, "operations error"],
  [2, "protocol error"],
  [3, "time limit exceeded"],
  [4, "size limit exceeded"],
  [7, "authentication method not supported"],
  [8, "stronger authentication required"],
  [11, "administrative limit exceeded"],
  [12, "unavailable critical extension"],
  [13, "confidentiality required"],
  [16, "no such attribute"],
  [17, "undefined attribute type"],
  [18, "inappropriate matching"],
  [19, "constraint violation"],
  [20, "attribute or value exists"],
  [21, "invalid attribute syntax"],
  [32, "no such object"],
  [34, "invalid DN syntax"],
  [48, "inappropriate authentication"],
  [49, "invalid credentials"],
  [50, "insufficient access rights"],
  [51, "busy"],
  [52, "unavailable"],
  [53, "unwilling to perform"],
  [54, "loop detected"],
  [64, "naming violation"],
  [65, "object class violation"],
  [66, "not allowed on non-leaf"],
  [67, "not allowed on RDN"],
  [68, "entry already exists"],
  [69, "object class modifications prohibited"],
  [80, "other"],
]);

const AD_BIND_REASONS: ReadonlyMap<string, { reason: string; retryable: boolean }> = new Map([
  ["525", { reason: "no such user", retryable: false }],
  ["52e", { reason: "wrong password", retryable: false }],
  ["530", { reason: "not permitted to log on at this time", retryable: true }],
  ["531", { reason: "not permitted to log on from this workstation", retryable: false }],
  ["532", { reason: "password expired", retryable: false }],
  ["533", { reason: "account disabled", retryable: false }],
  ["701", { reason: "account expired", retryable: false }],
  ["773", { reason: "password must be changed", retryable: false }],
  ["775", { reason: "account locked out", retryable: true }],
]);

/** Node's TLS verification failures: the server's certificate is not trusted; retrying cannot help. */
const TLS_CODES: ReadonlySet<string> = new Set([
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "CERT_HAS_EXPIRED",
  "CERT_NOT_YET_VALID",
  "CERT_UNTRUSTED",
  "CERT_REJECTED",
  "CERT_SIGNATURE_FAILURE",
  "ERR_TLS_CERT_ALTNAME_INVALID",
]);

/** The reason behind an Active Directory bind refusal, when the error is one. */
function adBindReason(err: unknown): { code: string; reason: string; retryable: boolean } | undefined {
  if (ldapResultCode(err) !== 49) return undefined;
  const message = (err as LdapErrorShape).message;
  const code = typeof message === "string" ? /\bdata ([0-9a-f]{3,4})\b/i.exec(message)?.[1] : undefined;
  const known = code === undefined ? undefined : AD_BIND_REASONS.get(code.toLowerCase());
  return known === undefined ? undefined : { code: code!.toLowerCase(), ...known };
}

/** The numeric LDAP result code of an ldapts error, if it carries one. */
export function ldapResultCode(err: unknown): number | undefined {
  const e = (typeof err === "object" && err !== null ? err : {}) as LdapErrorShape;
  return typeof e.code === "number" ? e.code : undefined;
}

/**
 * Classifies an error thrown by ldapts or the socket beneath it. Unknown errors are `other` and not
 * retryable, so a bug is not retried forever.
 */
export function classifyLdapError(err: unknown): LdapErrorClass {
  if (err instanceof ConnectorError) return { kind: err.kind, retryable: err.retryable };
  const e = (typeof err === "object" && err !== null ? err : {}) as LdapErrorShape;
  const resultCode = ldapResultCode(err);
  const ad = adBindReason(err);
  if (ad !== undefined) return { kind: "auth", retryable: ad.retryable };
  if (resultCode !== undefined) return RESULT_CODES.get(resultCode) ?? OTHER;
  if (typeof e.code === "string" && SOCKET_CODES.has(e.code)) return UNREACHABLE;
  if (typeof e.code === "string" && TLS_CODES.has(e.code)) return AUTH;
  if (Array.isArray(e.errors) && e.errors.some((inner) => classifyLdapError(inner).kind === "unreachable")) {
    return UNREACHABLE;
  }
  const message = typeof e.message === "string" ? e.message : "";
  // ldapts reports its own timeouts and dropped sockets without a code.
  if (/timeout|timed out|ECONNREFUSED|ECONNRESET|socket|connection closed/i.test(message)) return UNREACHABLE;
  return OTHER;
}

/** ldapts' own words for what went wrong, without secrets. */
export function describeLdapCause(err: unknown, secrets: readonly string[]): string {
  const e = (typeof err === "object" && err !== null ? err : {}) as LdapErrorShape;
  let text = typeof e.message === "string" ? e.message : String(err);
  if (text === "" && Array.isArray(e.errors) && e.errors.length > 0) {
    text = describeLdapCause(e.errors[0], secrets);
  }
  if (text === "" && typeof e.code === "string") text = e.code;
  const code = ldapResultCode(err);
  const words = code === undefined ? undefined : RESULT_WORDS.get(code);
  let withCode =
    code === undefined
      ? text.trim()
      : `${words === undefined ? "" : `${words}, `}result ${code}: ${text.trim()}`;
  const ad = adBindReason(err);
  if (ad !== undefined) withCode += ` — Active Directory: ${ad.reason}`;
  if (typeof e.code === "string" && TLS_CODES.has(e.code)) {
    withCode += ` (${e.code}; tlsCaFile names the CA that signed the server's certificate)`;
  }
  return redactSecrets(withCode, secrets) || "unknown error";
}

/** ldapts errors, for `wrapDriverError`: `<system>: <what> failed on <target> (<cause>)`. */
export const LDAP_ERRORS: DriverErrorRules = { classify: classifyLdapError, describe: describeLdapCause };

/** Wraps an ldapts error (see `wrapDriverError`). */
export function toLdapConnectorError(
  system: string,
  what: string,
  target: string,
  err: unknown,
  secrets: readonly string[],
): ConnectorError {
  return wrapDriverError(LDAP_ERRORS, system, what, target, err, secrets);
}
