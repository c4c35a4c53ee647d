import type { WorkerAttributes } from "../../src/domain/identity-types.js";

/**
 * A worker as an HR source describes one after mapping: Ada Lovelace (E1), an active employee,
 * engineer in Engineering since 2026-01-05, with `overrides` on top. Nothing is derived from an
 * override: a test that changes the names and reads displayName passes displayName too.
 */
export function workerAttributes(overrides: Partial<WorkerAttributes> = {}): WorkerAttributes {
  return {
    employeeId: "E1",
    givenName: "Ada",
    familyName: "Lovelace",
    displayName: "Ada Lovelace",
    email: "ada@example.test",
    department: "Engineering",
    title: "Engineer",
    location: null,
    costCenter: null,
    managerId: null,
    employmentType: "employee",
    status: "active",
    startDate: "2026-01-05",
    endDate: null,
    terminationDate: null,
    ...overrides,
  };
}
