import { z } from "zod";
import { count, days, percent, strictObject } from "../../config/schema-helpers.js";
import type { LifecycleConfig } from "../config-types.js";

/** `lifecycle:` — timing of joiner / mover / leaver and mass-change protection. Defaults as in `LifecycleConfig`. */
export const lifecycleSection = strictObject({
  prehireDays: days().default(7),
  moverGraceDays: days().default(0),
  deleteAfterDays: days().default(30),
  contractorWarningDays: days().default(14),
  leaver: strictObject({
    revoke: z.enum(["privileged", "all"]).default("privileged"),
    slaHours: z
      .number({ error: "expected a number of hours greater than 0" })
      .positive({ error: "expected a number of hours greater than 0" })
      .default(24),
  }).prefault({}),
  massChangeThreshold: strictObject({
    percent: percent().default(10),
    minimum: count().default(5),
  }).prefault({}),
}).prefault({});

const defaults = lifecycleSection.parse(undefined);

/** `lifecycle:` with every key at its default, as a file without the section gets it. Deeply frozen. */
export const DEFAULT_LIFECYCLE: LifecycleConfig = Object.freeze({
  ...defaults,
  leaver: Object.freeze(defaults.leaver),
  massChangeThreshold: Object.freeze(defaults.massChangeThreshold),
});
