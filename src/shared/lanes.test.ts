import { describe, expect, it } from "vitest";
import { createLanes } from "./lanes.js";

interface OperationRecord {
  id: string;
  system: string;
}

const op = (system: string, n: number): OperationRecord => ({ id: `${system}-${n}`, system });
const ids = (ops: readonly OperationRecord[]) => ops.map((o) => o.id);

describe("apply lanes (a queue and a concurrency limit per system)", () => {
  it("starts each system's operations up to its own limit, and a busy system holds back only its own", () => {
    const lanes = createLanes<OperationRecord>(
      (o) => o.system,
      (system) => (system === "directory" ? 2 : 3),
    );
    lanes.add([op("directory", 1), op("directory", 2), op("directory", 3), op("directory", 4), op("app", 1)]);
    expect(ids(lanes.startable())).toEqual(["directory-1", "directory-2", "app-1"]);
    // The directory's two waiting operations fill its queue: the next claim leaves it out.
    expect(lanes.full()).toEqual(["directory"]);
    expect([lanes.waiting, lanes.running]).toEqual([2, 3]);

    // The app keeps getting lanes while the directory's calls hang.
    lanes.add([op("app", 2), op("app", 3), op("app", 4)]);
    expect(ids(lanes.startable())).toEqual(["app-2", "app-3"]);
    lanes.finished("app");
    expect(ids(lanes.startable())).toEqual(["app-4"]);

    // A directory lane frees: its next operation starts, and its queue is no longer full.
    lanes.finished("directory");
    expect(ids(lanes.startable())).toEqual(["directory-3"]);
    expect(lanes.full()).toEqual([]);
    expect(ids(lanes.drain())).toEqual(["directory-4"]);
    expect(lanes.waiting).toBe(0);
  });
});
