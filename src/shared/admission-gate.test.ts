import { describe, expect, it } from "vitest";
import { createAdmissionGate } from "./admission-gate.js";

describe("the admission gate", () => {
  it("lets `limit` holders in at once and the next one in as each leaves, first come first served", async () => {
    const gate = createAdmissionGate();
    const a = await gate.enter(["a"], false, 2);
    const b = await gate.enter(["b"], false, 2);
    const order: string[] = [];
    const c = gate.enter(["c"], false, 2).then((leave) => {
      order.push("c");
      return leave;
    });
    const d = gate.enter(["d"], false, 2).then((leave) => {
      order.push("d");
      return leave;
    });
    await Promise.resolve();
    expect([gate.inside(), gate.waiting(), order]).toEqual([2, 2, []]);
    a();
    a(); // leaving twice lets one waiter in, not two
    (await c)();
    b();
    (await d)();
    expect(order).toEqual(["c", "d"]);
    expect([gate.inside(), gate.waiting()]).toEqual([0, 0]);
  });

  it("lets an urgent waiter in before ordinary ones, unless an earlier waiter shares a key with it", async () => {
    const gate = createAdmissionGate();
    const holder = await gate.enter(["x"], false, 1);
    const order: string[] = [];
    const wait = (name: string, keys: string[], urgent: boolean) =>
      gate.enter(keys, urgent, 1).then((leave) => {
        order.push(name);
        leave();
      });
    const all = [
      wait("joiner p1", ["p1"], false),
      wait("mover p2", ["p2"], false),
      wait("leaver p3", ["p3"], true),
      wait("leaver p2", ["p2"], true),
      wait("joiner p4", ["p4"], false),
    ];
    holder();
    await Promise.all(all);
    expect(order).toEqual(["leaver p3", "joiner p1", "mover p2", "leaver p2", "joiner p4"]);
  });
});
