import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { apiTypesText, WEB_API_TYPES } from "../../scripts/web-api-types.js";

describe("the console's API types", () => {
  it("are what the routes publish now (npm run web:types writes them)", async () => {
    const committed = await readFile(WEB_API_TYPES, "utf8");
    // A route changed without the console's types: the console would compile against an API that is gone.
    expect(
      committed === (await apiTypesText()),
      "web/src/api/schema.d.ts is stale: run npm run web:types",
    ).toBe(true);
  });
});
