import type { NhiAccountHold } from "./nhi-account.js";
import type { NhiFindingSeverity } from "./nhi-findings.js";

/**
 * The finding a disabled NHI's account hold can carry (docs/nhi.md "What disabled does"): Tenure could not
 * switch the credential off (`unenforced`: no system, an unconfigured one, an account of another identity,
 * a vanished account), so the NHI is disabled in Tenure while its credential may still work — a person must
 * act. Apart from domain/nhi-findings.ts, whose findings are measured against the inventory and the policy
 * alone: this one is a fact of the target, read from the hold. Pure.
 */
export interface NhiHoldFinding {
  nhi: string;
  code: "disable_unenforced";
  severity: NhiFindingSeverity;
  message: string;
}

/** The hold's finding, or null when Tenure holds the account disabled (or there is no hold). */
export function nhiHoldFinding(name: string, hold: NhiAccountHold | null): NhiHoldFinding | null {
  if (hold === null || hold.state !== "unenforced") return null;
  return {
    nhi: name,
    code: "disable_unenforced",
    severity: "high",
    message: `disabled, but Tenure cannot disable its credential: ${hold.why ?? "no reason recorded"}`,
  };
}
