import { fakerDE, fakerEN_GB, fakerFR, fakerPL } from "@faker-js/faker";
import { ATTRIBUTE_NAMES, type WorkerAttributes } from "../domain/identity-types.js";
import { addDays } from "../domain/local-date.js";

/** One HR row of a synthetic organisation, with the attribute names as headers. */
export interface SyntheticWorker {
  employeeId: string;
  givenName: string;
  familyName: string;
  email: string;
  department: string;
  title: string;
  location: string;
  costCenter: string;
  managerId: string;
  employmentType: "employee" | "contractor" | "intern";
  status: "active" | "leave" | "terminated";
  startDate: string;
  endDate: string;
  terminationDate: string;
}

export const DEPARTMENTS: Record<string, { titles: string[]; costCenter: string }> = {
  Engineering: {
    titles: ["Software Engineer", "Senior Software Engineer", "Staff Engineer", "SRE"],
    costCenter: "CC-100",
  },
  Finance: {
    titles: ["Accountant", "Payroll Specialist", "Financial Analyst", "Controller"],
    costCenter: "CC-200",
  },
  Sales: { titles: ["Account Executive", "Sales Engineer", "Sales Development Rep"], costCenter: "CC-300" },
  "People Ops": { titles: ["HR Generalist", "Recruiter", "People Partner"], costCenter: "CC-400" },
  Support: { titles: ["Support Engineer", "Support Specialist"], costCenter: "CC-500" },
  Marketing: { titles: ["Marketing Manager", "Content Writer", "Designer"], costCenter: "CC-600" },
};
const LOCATIONS = ["London", "Berlin", "Paris", "Warsaw", "Remote"];
const FAKERS = [fakerEN_GB, fakerDE, fakerFR, fakerPL];

export interface SyntheticOrgOptions {
  size: number;
  seed?: number;
  /** The organisation's "today" (YYYY-MM-DD); dates are placed around it. */
  today: string;
}

/**
 * A believable organisation: a manager tree per department, about 8 % contractors with end dates,
 * 2 % pending hires, 3 % leavers with termination dates, 1 % on leave, and names in several
 * languages (so non-ASCII letters are exercised). Deterministic for a seed.
 */
export function generateOrganisation(options: SyntheticOrgOptions): SyntheticWorker[] {
  const seed = options.seed ?? 42;
  for (const f of FAKERS) f.seed(seed);
  const rng = FAKERS[0]!;
  const departments = Object.keys(DEPARTMENTS);
  const workers: SyntheticWorker[] = [];
  const heads = new Map<string, string>();
  const usedEmails = new Set<string>();
  for (let i = 0; i < options.size; i++) {
    const f = FAKERS[i % FAKERS.length]!;
    const givenName = f.person.firstName();
    const familyName = f.person.lastName();
    const id = `E${String(100000 + i)}`;
    const department = departments[i % departments.length]!;
    const dept = DEPARTMENTS[department]!;
    let local = `${givenName}.${familyName}`
      .normalize("NFKD")
      .replace(/[^\w.-]/g, "")
      .toLowerCase();
    if (usedEmails.has(local)) local = `${local}.${id.toLowerCase()}`;
    usedEmails.add(local);
    // Managers: the first person of each department heads it; others report to a random earlier colleague.
    let managerId = "";
    const head = heads.get(department);
    if (head === undefined) heads.set(department, id);
    else {
      const sameDept = workers.slice(-60).filter((w) => w.department === department);
      managerId =
        sameDept.length > 0 && rng.number.int(4) > 0 ? rng.helpers.arrayElement(sameDept).employeeId : head;
    }
    const roll = rng.number.int(99);
    let employmentType: SyntheticWorker["employmentType"] = "employee";
    let status: SyntheticWorker["status"] = "active";
    let startDate = addDays(options.today, -rng.number.int({ min: 30, max: 3000 }));
    let endDate = "";
    let terminationDate = "";
    if (head !== undefined) {
      if (roll < 8) {
        employmentType = "contractor";
        endDate = addDays(options.today, rng.number.int({ min: 5, max: 200 }));
      } else if (roll < 9) {
        employmentType = "intern";
        endDate = addDays(options.today, rng.number.int({ min: 30, max: 120 }));
      } else if (roll < 11) {
        startDate = addDays(options.today, rng.number.int({ min: 1, max: 30 }));
      } else if (roll < 14) {
        status = "terminated";
        terminationDate = addDays(options.today, -rng.number.int({ min: 0, max: 20 }));
      } else if (roll < 15) {
        status = "leave";
      }
    }
    workers.push({
      employeeId: id,
      givenName,
      familyName,
      email: `${local}@example.test`,
      department,
      title: head === undefined ? `Head of ${department}` : rng.helpers.arrayElement(dept.titles),
      location: rng.helpers.arrayElement(LOCATIONS),
      costCenter: dept.costCenter,
      managerId,
      employmentType,
      status,
      startDate,
      endDate,
      terminationDate,
    });
  }
  return workers;
}

// A column per attribute but displayName, which the mapper derives from the given and family names.
type Column = Exclude<keyof WorkerAttributes, "displayName">;
const HEADERS = ATTRIBUTE_NAMES.filter((name): name is Column => name !== "displayName");

function csvCell(v: string): string {
  return /[",\r\n]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v;
}

/** A worker's attributes as a source stores them: blank HR fields are null, the display name is composed. */
export function workerAttributes(w: SyntheticWorker): WorkerAttributes {
  return {
    employeeId: w.employeeId,
    givenName: w.givenName,
    familyName: w.familyName,
    displayName: `${w.givenName} ${w.familyName}`,
    email: w.email || null,
    department: w.department || null,
    title: w.title || null,
    location: w.location || null,
    costCenter: w.costCenter || null,
    managerId: w.managerId || null,
    employmentType: w.employmentType,
    status: w.status,
    startDate: w.startDate || null,
    endDate: w.endDate || null,
    terminationDate: w.terminationDate || null,
  };
}

/** Renders workers as an HR CSV export with a header row. */
export function toCsv(workers: readonly SyntheticWorker[]): string {
  const lines = [HEADERS.join(",")];
  for (const w of workers) lines.push(HEADERS.map((h) => csvCell(w[h])).join(","));
  return `${lines.join("\n")}\n`;
}
