import type { AttributeName } from "./config-types.js";

/**
 * Every attribute a source can map a column to, at run time. `WorkerAttributes` is an interface, so
 * the list is written out; the checks below fail to compile when the two drift apart.
 */
export const ATTRIBUTE_NAMES = [
  "employeeId",
  "givenName",
  "familyName",
  "displayName",
  "email",
  "department",
  "title",
  "location",
  "costCenter",
  "managerId",
  "employmentType",
  "status",
  "startDate",
  "endDate",
  "terminationDate",
] as const satisfies readonly AttributeName[];

type Listed = (typeof ATTRIBUTE_NAMES)[number];
type Unlisted = Exclude<AttributeName, Listed>;
// Compiles only while every attribute of WorkerAttributes is listed above.
const everyAttributeListed: Unlisted extends never ? true : Unlisted = true;
void everyAttributeListed;
