// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these strings are tenure.yaml text, where ${env:…} and ${file:…} are literal references, not template placeholders.

import { describe, expect, it } from "vitest";
import { redactUrl as redactDatabaseUrl } from "../../shared/redact.js";
import { resolveDatabase } from "./database-section.js";

describe("redactDatabaseUrl", () => {
  it.each([
    ["postgres://tenure:s3cret@db:5432/tenure", "postgres://tenure:***@db:5432/tenure"],
    ["postgresql://tenure:p@ss/w0rd@db/tenure", "postgresql://tenure:***@db/tenure"],
    [
      "postgres://tenure@db/tenure?sslmode=require&password=s3cret",
      "postgres://tenure@db/tenure?sslmode=require&password=***",
    ],
    ["postgres://tenure:${env:DB_PASSWORD}@db/tenure", "postgres://tenure:${env:DB_PASSWORD}@db/tenure"],
    ["mysql://root:hunter2@localhost/x", "mysql://root:***@localhost/x"],
    ["postgres://db/tenure", "postgres://db/tenure"],
    ["sqlite:./tenure.db", "sqlite:./tenure.db"],
    ["sqlite::memory:", "sqlite::memory:"],
  ])("%s → %s", (url, shown) => {
    expect(redactDatabaseUrl(url)).toBe(shown);
  });
});

describe("resolveDatabase", () => {
  const ctx = { baseDir: "/etc/tenure" };
  it("makes only relative SQLite paths absolute", () => {
    expect(resolveDatabase("sqlite:./tenure.db", ctx)).toBe("sqlite:/etc/tenure/tenure.db");
    expect(resolveDatabase("sqlite:data/t.db", ctx)).toBe("sqlite:/etc/tenure/data/t.db");
    expect(resolveDatabase("sqlite:/var/lib/t.db", ctx)).toBe("sqlite:/var/lib/t.db");
    expect(resolveDatabase("sqlite::memory:", ctx)).toBe("sqlite::memory:");
    expect(resolveDatabase("postgres://db/tenure", ctx)).toBe("postgres://db/tenure");
  });
});
