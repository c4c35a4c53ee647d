import { z } from "zod";
import { REPORTS } from "../../workflows/report-registry.js";
import { REPORT_FORMATS } from "../../workflows/report-render.js";
import { instantQuery } from "./common-schemas.js";

const REPORT_NAMES = REPORTS.map((r) => r.name) as [string, ...string[]];

export const reportListing = z.object({
  reports: z.array(
    z.object({
      name: z.string(),
      title: z.string(),
      description: z.string(),
      period: z.boolean().describe("whether from/to apply (a period) or it describes the present"),
    }),
  ),
});

export const reportNameParams = z.object({ name: z.enum(REPORT_NAMES) });

export const reportRunQuery = z.object({
  format: z.enum(REPORT_FORMATS).default("json"),
  from: instantQuery.optional().describe("start of the period (default: 30 days before `to`)"),
  to: instantQuery.optional().describe("end of the period, exclusive (default: now)"),
});

const cell = z.union([z.string(), z.number(), z.boolean(), z.null()]);

export const reportSchema = z.object({
  name: z.string(),
  title: z.string(),
  description: z.string(),
  from: z.string().nullable(),
  to: z.string().nullable(),
  generatedAt: z.string(),
  columns: z.array(z.object({ key: z.string(), label: z.string() })),
  rows: z.array(z.record(z.string(), cell)),
  summary: z.record(z.string(), cell),
  alerts: z.array(z.string()),
});
