import { copyFile, mkdir, readFile, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import BetterSqlite3 from "better-sqlite3";
import { addDays } from "../domain/local-date.js";
import { InvalidInputError } from "../shared/errors.js";
import { DEPARTMENTS, generateOrganisation, type SyntheticWorker, toCsv } from "./synthetic-org.js";

const TEMPLATE = fileURLToPath(new URL("../../examples/demo/", import.meta.url));

export interface DemoWorkspace {
  dir: string;
  configPath: string;
  csvPath: string;
  /** The HR export of a week ago and today's: between them, movers, leavers and new hires. */
  exports: { lastWeek: string; today: string };
  story: { movers: string[]; leavers: string[]; departed: string[]; hires: string[] };
}

/** Splits apps.sql at its `-- name` markers: one SQLite file per demo application. */
function appSchemas(text: string): Map<string, string> {
  const apps = new Map<string, string>();
  let current: string | null = null;
  for (const line of text.split("\n")) {
    const marker = /^-- (\w+)$/.exec(line.trim());
    if (marker?.[1]) {
      current = marker[1];
      apps.set(current, "");
    } else if (current !== null) {
      apps.set(current, `${apps.get(current)}${line}\n`);
    }
  }
  return apps;
}

/**
 * Writes a demo workspace: the demo tenure.yaml, three application databases, and two HR exports of a
 * believable organisation of `size` people a week apart — the second with movers, leavers, people
 * gone from the export, and new hires starting soon. Deterministic for a date.
 */
export async function createDemoWorkspace(dir: string, today: string, size = 240): Promise<DemoWorkspace> {
  const target = path.resolve(dir);
  await mkdir(path.join(target, "apps"), { recursive: true });
  const configPath = path.join(target, "tenure.yaml");
  if (
    await stat(configPath).then(
      () => true,
      () => false,
    )
  ) {
    throw new InvalidInputError(`${configPath} already exists; give tenure demo an empty or new folder`);
  }
  await copyFile(path.join(TEMPLATE, "tenure.yaml"), configPath);
  for (const [app, schema] of appSchemas(await readFile(path.join(TEMPLATE, "apps.sql"), "utf8"))) {
    const db = new BetterSqlite3(path.join(target, "apps", `${app}.db`));
    db.exec(schema);
    db.close();
  }

  const lastWeekDate = addDays(today, -7);
  const lastWeek = generateOrganisation({ size, today: lastWeekDate, seed: 2026 });
  const current: SyntheticWorker[] = lastWeek.map((w) => ({ ...w }));
  const steady = current.filter(
    (w) =>
      w.status === "active" &&
      w.employmentType === "employee" &&
      w.managerId !== "" &&
      w.startDate <= lastWeekDate,
  );
  const story = {
    movers: [] as string[],
    leavers: [] as string[],
    departed: [] as string[],
    hires: [] as string[],
  };
  const departments = Object.keys(DEPARTMENTS);
  for (const w of steady.slice(0, 6)) {
    const to = departments[(departments.indexOf(w.department) + 1) % departments.length]!;
    w.department = to;
    w.title = DEPARTMENTS[to]!.titles[0]!;
    w.costCenter = DEPARTMENTS[to]!.costCenter;
    story.movers.push(w.employeeId);
  }
  for (const w of steady.slice(6, 10)) {
    w.status = "terminated";
    w.terminationDate = addDays(today, -1);
    story.leavers.push(w.employeeId);
  }
  const departed = new Set(steady.slice(10, 12).map((w) => w.employeeId));
  story.departed.push(...departed);
  const hires: SyntheticWorker[] = [
    ["Noor", "Haddad", "Engineering", "SRE"],
    ["Mateusz", "Wiśniewski", "Finance", "Payroll Specialist"],
    ["Léa", "Fontaine", "Support", "Support Engineer"],
  ].map(([givenName, familyName, department, title], i) => {
    const employeeId = `E${900001 + i}`;
    story.hires.push(employeeId);
    return {
      employeeId,
      givenName: givenName!,
      familyName: familyName!,
      email: `${givenName!.toLowerCase()}.${i}@example.test`,
      department: department!,
      title: title!,
      location: "London",
      costCenter: DEPARTMENTS[department!]!.costCenter,
      managerId: lastWeek.find((w) => w.department === department && w.managerId === "")?.employeeId ?? "",
      employmentType: "employee",
      status: "active",
      startDate: addDays(today, 3 + i),
      endDate: "",
      terminationDate: "",
    };
  });
  const todayExport = [...current.filter((w) => !departed.has(w.employeeId)), ...hires];

  const exportsDir = path.join(target, "exports");
  await mkdir(exportsDir, { recursive: true });
  const exports = {
    lastWeek: path.join(exportsDir, `hr-${lastWeekDate}.csv`),
    today: path.join(exportsDir, `hr-${today}.csv`),
  };
  await writeFile(exports.lastWeek, toCsv(lastWeek));
  await writeFile(exports.today, toCsv(todayExport));
  const csvPath = path.join(target, "hr.csv");
  await copyFile(exports.lastWeek, csvPath);
  return { dir: target, configPath, csvPath, exports, story };
}

/**
 * Out-of-band changes for reconcile to find: an account nobody owns, access nobody granted, and a
 * production administrator who can also run payroll (a separation-of-duties violation).
 */
export function tamperDemoApps(dir: string): void {
  const wiki = new BetterSqlite3(path.join(dir, "apps", "wiki.db"));
  wiki
    .prepare("insert into users (login, email, name, active) values (?, ?, ?, 1)")
    .run("old.intern", "old.intern@example.test", "Old Intern");
  wiki.close();
  const deploy = new BetterSqlite3(path.join(dir, "apps", "deploy.db"));
  const someone = deploy
    .prepare(
      "select id from accounts where id not in (select account_id from account_groups where grp = 'admins') limit 1",
    )
    .get() as { id: number } | undefined;
  if (someone)
    deploy.prepare("insert into account_groups (account_id, grp) values (?, 'admins')").run(someone.id);
  // A production administrator is let into payroll by hand: a separation-of-duties violation to find.
  const admin = deploy
    .prepare(
      "select email from accounts where id in (select account_id from account_groups where grp = 'admins') order by id limit 1",
    )
    .get() as { email: string } | undefined;
  deploy.close();
  const payroll = new BetterSqlite3(path.join(dir, "apps", "payroll.db"));
  const clerk = admin
    ? (payroll.prepare("select id from employees where mail = ?").get(admin.email) as
        | { id: number }
        | undefined)
    : undefined;
  if (clerk)
    payroll.prepare("insert into employee_roles (employee_id, role) values (?, 'clerk')").run(clerk.id);
  payroll.close();
}
