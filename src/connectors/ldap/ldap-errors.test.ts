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
});
