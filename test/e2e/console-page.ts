import { mkdir } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Browser, Page } from "playwright-core";
import { expect } from "vitest";

/** What every console browser test does with a page: sign in with a token, check axe-core, screenshot. */

const SCREENSHOTS = fileURLToPath(new URL("./screenshots/", import.meta.url));
const AXE = createRequire(import.meta.url).resolve("axe-core/axe.min.js");

/** A new browser context signed in to the console at `url` with `token`. */
export async function signedInPage(
  browser: Browser,
  url: string,
  token: string,
  viewport = { width: 1280, height: 900 },
): Promise<Page> {
  // The console's CSP allows only its own scripts; the test's axe-core is let in by the browser.
  const context = await browser.newContext({ viewport, bypassCSP: true });
  const p = await context.newPage();
  await p.goto(`${url}/`);
  await p.getByLabel("API token").fill(token);
  await p.getByRole("button", { name: "Sign in", exact: true }).click();
  await p.getByRole("button", { name: "Sign out" }).waitFor();
  return p;
}

/** axe-core on the page as it is: no serious or critical violation. */
export async function expectAccessible(p: Page, what: string): Promise<void> {
  await p.addScriptTag({ path: AXE });
  const violations = await p.evaluate(async () => {
    const axe = (globalThis as unknown as { axe: { run(): Promise<{ violations: unknown[] }> } }).axe;
    const result = await axe.run();
    return (result.violations as Array<{ id: string; impact: string; nodes: Array<{ target: unknown }> }>)
      .filter((v) => v.impact === "serious" || v.impact === "critical")
      .map((v) => `${v.id} (${v.impact}) at ${v.nodes.map((n) => JSON.stringify(n.target)).join(", ")}`);
  });
  expect(violations, what).toEqual([]);
}

/** A full-page screenshot in test/e2e/screenshots/ (git-ignored), for people reviewing a change. */
export async function screenshot(p: Page, name: string): Promise<void> {
  await mkdir(SCREENSHOTS, { recursive: true });
  await p.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

/**
 * Waits until the page has drawn what it loads: no `Loading …` placeholder and no table marked busy
 * while it refetches. `waitForLoadState("networkidle")` cannot say this: after the console's
 * client-side navigation the document's load state stays reached, so it returns at once, before the
 * new page's queries have answered.
 */
export async function settled(p: Page): Promise<void> {
  await p.waitForFunction(`document.querySelector('[data-loading], [aria-busy="true"]') === null`);
}
