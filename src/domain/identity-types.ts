/** The lifecycle states (docs/lifecycle.md): prehire → active ⇄ suspended → terminated → deleted (rehire back). */
export const LIFECYCLE_STATES = ["prehire", "active", "suspended", "terminated", "deleted"] as const;
export type LifecycleState = (typeof LIFECYCLE_STATES)[number];

export const EMPLOYMENT_TYPES = ["employee", "contractor", "intern"] as const;
export type EmploymentType = (typeof EMPLOYMENT_TYPES)[number];

export const HR_STATUSES = ["active", "leave", "terminated"] as const;
export type HrStatus = (typeof HR_STATUSES)[number];

/** A calendar date `YYYY-MM-DD`, interpreted in the time zone of the source that sent it. */
export type IsoDate = string;

/** Attributes of a person as the HR source describes them, after column mapping. */
export interface WorkerAttributes {
  employeeId: string;
  givenName: string;
  familyName: string;
  displayName: string;
  email: string | null;
  department: string | null;
  title: string | null;
  location: string | null;
  costCenter: string | null;
  managerId: string | null;
  employmentType: EmploymentType;
  status: HrStatus;
  startDate: IsoDate | null;
  endDate: IsoDate | null;
  terminationDate: IsoDate | null;
}

/** The attribute names a source maps its columns to. */
export type AttributeName = keyof WorkerAttributes;

/** How an attribute's value is written: free text, an `IsoDate`, or one of a fixed set of values. */
export type AttributeKind = "text" | "date" | "employmentType" | "status";

/**
 * The kind of every attribute of `WorkerAttributes`. The interface is not there at run time, so the
 * attributes are written out here, once; `satisfies` fails to compile when one is missing or extra.
 */
export const ATTRIBUTE_KINDS = {
  employeeId: "text",
  givenName: "text",
  familyName: "text",
  displayName: "text",
  email: "text",
  department: "text",
  title: "text",
  location: "text",
  costCenter: "text",
  managerId: "text",
  employmentType: "employmentType",
  status: "status",
  startDate: "date",
  endDate: "date",
  terminationDate: "date",
} as const satisfies Readonly<Record<keyof WorkerAttributes, AttributeKind>>;

/**
 * Every attribute, in declaration order: what a source can map a column to and what a rule or a
 * template can read.
 */
export const ATTRIBUTE_NAMES = Object.keys(ATTRIBUTE_KINDS) as readonly (keyof WorkerAttributes)[];

/** One validated row of an authoritative source, as handed to the lifecycle. */
export interface WorkerRecord {
  source: string;
  key: string;
  /** 1-based data row number in the file (header excluded), or the position in a pushed batch. */
  row: number;
  raw: Record<string, string>;
  attributes: WorkerAttributes;
}

export type IdentityKind = "human" | "service";

export interface Identity {
  id: string;
  kind: IdentityKind;
  source: string;
  sourceKey: string;
  state: LifecycleState;
  attributes: WorkerAttributes;
  /** Increments on every rehire, so access granted in an earlier employment is never resurrected. */
  employment: number;
  /** When the identity entered its current state (ISO-8601 instant). */
  stateSince: string;
  createdAt: string;
  updatedAt: string;
  /** The stored source record that last changed this identity. */
  lastRecordId: string | null;
  /** Attributes before the last change, so a mover can keep old access for a grace period. */
  previousAttributes: WorkerAttributes | null;
  /** When the attributes last changed (ISO-8601 instant). */
  attributesChangedAt: string | null;
}
