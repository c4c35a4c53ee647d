import { z } from "zod";
import type { EventDefinition } from "./notification-event-types.js";

/**
 * An evidence report found a row that must not exist (a leaver with an enabled account, a leaver past
 * the deprovisioning SLA). Not addressed to a person: routed by `notify.routes["report.alert"]`.
 */
export interface ReportAlertData {
  report: string;
  title: string;
  /** What the alert is about, stable across runs: an account, a leaver's termination. */
  key: string;
  alert: string;
}

export const reportAlert: EventDefinition<ReportAlertData> = {
  schema: z.object({ report: z.string(), title: z.string(), key: z.string(), alert: z.string() }),
  placeholders: {
    report: "the report's name, e.g. terminated-enabled",
    title: "the report's title",
    key: "what the alert is about (an account, a leaver)",
    alert: "the alert, in words",
  },
  values: (d) => ({ ...d }),
  // Once per thing found: the hourly check does not repeat it while it stands.
  dedupeKey: (d) => `report.alert:${d.report}:${d.key}`,
  template: {
    subject: "Tenure alert: {{title}}",
    text: "{{alert}}\n\nReport: tenure report {{report}}",
  },
};
