import { describe, expect, it } from "vitest";
import { tenureCommand } from "./invocation.js";

describe("tenureCommand", () => {
  it("is tenure when started through an installed package", () => {
    expect(tenureCommand("/usr/local/lib/node_modules/tenure/dist/cli/main.js", "/home/ada")).toBe("tenure");
    expect(tenureCommand("/home/ada/app/node_modules/.bin/tenure", "/home/ada/app")).toBe("tenure");
    expect(tenureCommand("/usr/local/bin/tenure", "/tmp")).toBe("tenure");
  });

  it("is node and the path when run from a clone, as npm run demo does", () => {
    expect(tenureCommand("/home/ada/tenure/dist/cli/main.js", "/home/ada/tenure")).toBe(
      "node dist/cli/main.js",
    );
    expect(tenureCommand("/home/ada/tenure/dist/cli/main.js", "/tmp")).toBe(
      "node /home/ada/tenure/dist/cli/main.js",
    );
  });
});
