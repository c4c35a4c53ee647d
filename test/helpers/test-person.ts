import type { Identity, LifecycleState, WorkerAttributes } from "../../src/domain/identity-types.js";

export interface TestPersonOptions {
  /** The manager's HR key. */
  manager?: string | null;
  state?: LifecycleState;
  /** When the identity was created and entered its state. */
  at?: Date;
  department?: string | null;
  /** Set only for a terminated person. */
  terminationDate?: string;
}

/**
 * A person from HR source `hr` with id `id-KEY` and email `key@example.test`, as the workflow tests put them
 * in a store: one shape for every test, so a field added to Identity is added once.
 */
export function testPerson(key: string, options: TestPersonOptions = {}): Identity {
  const state = options.state ?? "active";
  const at = (options.at ?? new Date("2026-01-01T00:00:00Z")).toISOString();
  const attributes: WorkerAttributes = {
    employeeId: key,
    givenName: key,
    familyName: "Test",
    displayName: `${key} Test`,
    email: `${key.toLowerCase()}@example.test`,
    department: options.department ?? null,
    title: null,
    location: null,
    costCenter: null,
    managerId: options.manager ?? null,
    employmentType: "employee",
    status: state === "terminated" ? "terminated" : "active",
    startDate: null,
    endDate: null,
    terminationDate: state === "terminated" ? (options.terminationDate ?? at.slice(0, 10)) : null,
  };
  return {
    id: `id-${key}`,
    kind: "human",
    source: "hr",
    sourceKey: key,
    state,
    attributes,
    employment: 1,
    stateSince: at,
    createdAt: at,
    updatedAt: at,
    lastRecordId: null,
    previousAttributes: null,
    attributesChangedAt: null,
  };
}
