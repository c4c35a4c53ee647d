import type { z } from "zod";

/** A subject and a text with `{{placeholder}}`s. */
export interface NotificationTemplate {
  readonly subject: string;
  readonly text: string;
}

/** What shapes a dedupe key besides the event: the settings of `notify:` that bucket time. */
export interface DedupeSettings {
  /** `notify.unreachableWindowMinutes`: one `connector.unreachable` per system per window. */
  readonly unreachableWindowMinutes: number;
}

/** What the catalogue knows of one event. */
export interface EventDefinition<D> {
  /** Checks data at run time, so a caller's mistake is a clear error rather than "undefined" in a message. */
  readonly schema: z.ZodType<D>;
  /** Placeholder → what it holds, for templates (checked when the config loads) and the docs. */
  readonly placeholders: Readonly<Record<string, string>>;
  /** The text of every placeholder of the event, from its data. */
  values(data: D): Record<string, string>;
  /**
   * The key that makes a repeat of the same event a duplicate (queued once): which repeats count as
   * the same is the event's own business.
   */
  dedupeKey(data: D, now: Date, settings: DedupeSettings): string;
  readonly template: NotificationTemplate;
}
