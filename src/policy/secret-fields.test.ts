import { describe, expect, it } from "vitest";
import { z } from "zod";
import { isSecretAt } from "../config/schema-helpers.js";
import { isDeclaredSecret, secret } from "../shared/secret-field.js";
import { configFileSchema } from "./config-schema.js";

/** A document with one system of each connector, to pick the members of `systems`' union. */
const written = {
  systems: {
    dir: { connector: "ldap" },
    app: { connector: "sql" },
    maria: { connector: "mariadb" },
    pg: { connector: "postgres" },
    saas: { connector: "scim", config: { auth: { type: "basic" } } },
    bearer: { connector: "scim", config: { auth: { type: "bearer" } } },
    hook: { connector: "webhook" },
    desk: { connector: "manual" },
  },
};

describe("secret fields", () => {
  it("are the passwords, tokens, keys and connection URLs, wherever they sit", () => {
    const secretPaths = [
      ["database"],
      ["systems", "dir", "config", "url"],
      ["systems", "dir", "config", "bindPassword"],
      ["systems", "app", "config", "url"],
      ["systems", "maria", "config", "url"],
      ["systems", "pg", "config", "url"],
      ["systems", "saas", "config", "baseUrl"],
      ["systems", "saas", "config", "auth", "username"],
      ["systems", "saas", "config", "auth", "password"],
      ["systems", "bearer", "config", "auth", "token"],
      ["systems", "hook", "config", "url"],
      ["systems", "hook", "config", "listUrl"],
      ["systems", "hook", "config", "secret"],
      ["systems", "hook", "config", "headers", "X-Api-Key"],
      ["server", "console", "oidc", "clientSecret"],
      ["notify", "email", "smtp"],
      ["notify", "email", "auth", "user"],
      ["notify", "email", "auth", "pass"],
      ["notify", "webhooks", "chat", "url"],
      ["notify", "webhooks", "chat", "secret"],
      ["audit", "signing", "key"],
      ["audit", "publish", "to", 0, "webhook", "url"],
      ["audit", "publish", "to", 0, "webhook", "secret"],
      ["nhi", "rotation", "sink", "webhook", "url"],
      ["nhi", "rotation", "sink", "webhook", "secret"],
      ["nhi", "rotation", "webhookRotators", "billing-api", "url"],
      ["nhi", "rotation", "webhookRotators", "billing-api", "secret"],
    ];
    for (const path of secretPaths)
      expect([path.join("."), isSecretAt(configFileSchema, written, path)]).toEqual([path.join("."), true]);
  });

  it("are nothing else: names, paths, people, rules", () => {
    const plainPaths = [
      ["sources", "hr", "path"],
      ["sources", "hr", "timeZone"],
      ["systems", "dir", "owner"],
      ["systems", "dir", "config", "bindDn"],
      ["systems", "dir", "config", "tlsCaFile"],
      ["systems", "maria", "config", "passwordSink", "file"],
      ["systems", "saas", "config", "attributes", "email"],
      ["systems", "desk", "config", "url"],
      ["systems", "desk", "config", "fulfiller"],
      ["notify", "email", "host"],
      ["notify", "email", "from"],
      ["roles", "staff", "when"],
      ["secrets", "folders", 0],
      ["server", "host"],
      ["audit", "publish", "schedule"],
      ["audit", "publish", "to", 1, "file"],
      ["audit", "publish", "to", 2, "email"],
      ["nhi", "inventory", 0, "owner"],
      ["nhi", "rotation", "sink", "file"],
      ["nhi", "inventoryFiles", 0],
      ["no", "such", "path"],
    ];
    for (const path of plainPaths)
      expect([path.join("."), isSecretAt(configFileSchema, written, path)]).toEqual([path.join("."), false]);
  });

  it("secret() marks a copy, so a schema shared with plain fields stays plain", () => {
    const nonEmpty = z.string().min(1);
    const marked = secret(nonEmpty);
    expect(isDeclaredSecret(marked)).toBe(true);
    expect(isDeclaredSecret(nonEmpty)).toBe(false);
    expect(marked.safeParse("").success).toBe(false);
    const shape = z.object({
      token: marked.optional(),
      name: nonEmpty,
      all: secret(z.record(z.string(), z.string())),
    });
    expect(isSecretAt(shape, {}, ["token"])).toBe(true);
    expect(isSecretAt(shape, {}, ["name"])).toBe(false);
    expect(isSecretAt(shape, {}, ["all", "anything"])).toBe(true);
  });
});
