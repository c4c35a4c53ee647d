import pg from "pg";
import { vi } from "vitest";

/**
 * Records the text of every statement this process's PostgreSQL connections send whose text matches
 * `pattern` — as the driver gets it, so grouped statements count once. `restore()` ends the recording.
 */
export function recordStatements(pattern: RegExp): { sent: string[]; restore: () => void } {
  const sent: string[] = [];
  const original = pg.Client.prototype.query as (...args: unknown[]) => unknown;
  const spy = vi.spyOn(pg.Client.prototype, "query").mockImplementation(function (
    this: pg.Client,
    ...args: unknown[]
  ) {
    const [config] = args;
    const text = typeof config === "string" ? config : (config as { text?: string } | undefined)?.text;
    if (text !== undefined && pattern.test(text)) sent.push(text);
    return original.apply(this, args);
  } as never);
  return { sent, restore: () => spy.mockRestore() };
}
