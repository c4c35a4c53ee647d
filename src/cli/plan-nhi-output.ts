import type { NhiDisableForecast } from "../domain/nhi-disable-forecast.js";
import { type Output, println } from "./output.js";

const ACCOUNT: Record<NhiDisableForecast["accountAction"], string> = {
  disable: "disabled",
  "disabled-already": "disabled already, held so",
  unenforced: "CANNOT be disabled by Tenure",
};

/**
 * `tenure plan`'s section on non-human identities (docs/nhi.md "Previewing disables"): the NHIs owner
 * succession would disable by the instant previewed, each with its system, its account and why — a line
 * per NHI, and the account's caveat or why it cannot be disabled on the next. Nothing when there are none.
 */
export function printNhiDisables(o: Output, disables: readonly NhiDisableForecast[], at: Date): void {
  if (disables.length === 0) return;
  println(o);
  println(o, `NHIs that would be disabled by ${at.toISOString()} (unless a pending owner confirms in time):`);
  for (const d of disables) {
    const where = d.system === null ? "no system" : `${d.system}, account ${d.account ?? "?"}`;
    println(
      o,
      `  ${d.name} (${where}) on ${d.at.slice(0, 10)}: ${d.why}; its account: ${ACCOUNT[d.accountAction]}`,
    );
    if (d.accountNote !== null) println(o, `      ${d.accountNote}`);
  }
}
