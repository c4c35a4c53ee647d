import { z } from "zod";
import { count, days, percent, strictObject } from "../schema-helpers.js";

/** `lifecycle:` — timing of joiner / mover / leaver and mass-change protection. Defaults as in `LifecycleConfig`. */
export const lifecycleSection = strictObject({
  prehireDays: days().default(7),
  moverGraceDays: days().default(0),
  deleteAfterDays: days().default(30),
  contractorWarningDays: days().default(14),
  leaver: strictObject({ revoke: z.enum(["privileged", "all"]).default("privileged") }).prefault({}),
  massChangeThreshold: strictObject({
    percent: percent().default(10),
    minimum: count().default(5),
  }).prefault({}),
}).prefault({});
