import { existsSync } from "node:fs";
import { type Browser, chromium } from "playwright-core";

/** Debian's chromium (apt-get install -y chromium); never a downloaded browser. */
export const CHROMIUM = process.env.TENURE_CHROMIUM ?? "/usr/bin/chromium";

/** Why browser tests cannot run here, or null when they can. */
export function browserMissing(): string | null {
  return existsSync(CHROMIUM) ? null : `no chromium at ${CHROMIUM} (apt-get install -y chromium)`;
}

/**
 * Headless chromium as ../shared/TESTING.md's recipe says. Playwright gives it a fresh profile
 * (a new temporary --user-data-dir) and each `browser.newContext()` its own cookies.
 */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}
