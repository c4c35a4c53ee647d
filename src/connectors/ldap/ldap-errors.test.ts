import { InsufficientAccessError, InvalidCredentialsError, NoSuchObjectError } from "ldapts";
import { describe, expect, it } from "vitest";
import { ConnectorError } from "../connector-types.js";
import { classifyLdapError, toLdapConnectorError } from "./ldap-errors.js";

describe("classifyLdapError", () => {
  it("maps result codes", () => {
    expect(classifyLdapError(new InvalidCredentialsError())).toEqual({ kind: "auth", retryable: false });
    expect(classifyLdapError(new InsufficientAccessError())).toEqual({
      kind: "permission",
      retryable: false,
    });
    expect(classifyLdapError(new NoSuchObjectError())).toEqual({ kind: "invalid", retryable: false });
  });
  it("maps refused connections and timeouts to unreachable", () => {
    expect(
      classifyLdapError(Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" })),
    ).toEqual({
      kind: "unreachable",
      retryable: true,
    });
    expect(classifyLdapError(new Error("Connection timeout after 3000ms"))).toMatchObject({
      kind: "unreachable",
    });
    expect(classifyLdapError(new Error("something else"))).toEqual({ kind: "other", retryable: false });
  });
  it("reads Active Directory's bind refusals: all auth, a lockout and logon hours retryable", () => {
    const refused = (data: string) =>
      new InvalidCredentialsError(
        `80090308: LdapErr: DSID-0C0903A9, comment: AcceptSecurityContext error, data ${data}, v1db1`,
      );
    expect(classifyLdapError(refused("52e"))).toEqual({ kind: "auth", retryable: false });
    expect(classifyLdapError(refused("533"))).toEqual({ kind: "auth", retryable: false });
    expect(classifyLdapError(refused("773"))).toEqual({ kind: "auth", retryable: false });
    expect(classifyLdapError(refused("775"))).toEqual({ kind: "auth", retryable: true });
    expect(classifyLdapError(refused("530"))).toEqual({ kind: "auth", retryable: true });
    const err = toLdapConnectorError("ad", "list accounts", "ldaps://dc1:636", refused("533"), ["pw-secret"]);
    expect(err.message).toMatch(/data 533, v1db1.* — Active Directory: account disabled\)$/);
  });
  it("maps an untrusted server certificate to a non-retryable auth error with a hint", () => {
    const tls = Object.assign(new Error("self-signed certificate"), { code: "DEPTH_ZERO_SELF_SIGNED_CERT" });
    expect(classifyLdapError(tls)).toEqual({ kind: "auth", retryable: false });
    expect(toLdapConnectorError("ad", "list accounts", "ldaps://dc1:636", tls, []).message).toMatch(
      /self-signed certificate \(DEPTH_ZERO_SELF_SIGNED_CERT; tlsCaFile names the CA/,
    );
  });
  it("wraps with the system, the operation and the cause, without secrets", () => {
    const err = toLdapConnectorError(
      "dir",
      "list accounts",
      "ldap://h:389",
      new Error("bad hunter2-secret"),
      ["hunter2-secret"],
    );
    expect(err).toBeInstanceOf(ConnectorError);
    expect(err.message).toBe("dir: list accounts failed on ldap://h:389 (bad ***)");
  });
  it("says the result in words beside its code", () => {
    const err = toLdapConnectorError(
      "dir",
      "bind",
      "ldap://h:389",
      new InvalidCredentialsError("80090308: LdapErr: DSID-0C09042F"),
      [],
    );
    expect(err.message).toBe(
      "dir: bind failed on ldap://h:389 (invalid credentials, result 49: 80090308: LdapErr: DSID-0C09042F Code: 0x31)",
    );
  });
});
