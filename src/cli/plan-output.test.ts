import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { printPlan } from "./plan-output.js";

function capture() {
  const out = new PassThrough();
  const err = new PassThrough();
  return { o: { json: false, out, err }, text: () => String(out.read() ?? "") };
}

describe("printPlan with nothing new to plan", () => {
  it("says what is queued instead of 'No changes' while operations wait to be applied", () => {
    const { o, text } = capture();
    printPlan(o, [], [], [], { queue: { pending: 2, running: 0, failed: 1, dead: 0 } });
    const shown = text();
    expect(shown).not.toContain("No changes");
    expect(shown).toContain(
      "No new changes, but 3 operations are queued and not yet applied: run tenure apply.",
    );
    expect(shown).toContain("Queued from earlier runs: 2 pending, 0 running, 1 failed and retrying, 0 dead");
  });

  it("says 'No changes' only when nothing is queued either", () => {
    const { o, text } = capture();
    printPlan(o, [], [], [], { queue: { pending: 0, running: 0, failed: 0, dead: 0 } });
    expect(text()).toBe("No changes: every system matches policy.\n");
  });
});
