import { type ReactNode, useEffect, useRef } from "react";

/**
 * What a page shows while its data loads: announced to screen readers. `data-loading` marks it for
 * the browser tests, which wait for the last one to go before reading a page.
 */
export function Loading({ what }: { what: string }) {
  return (
    <p className="muted" role="status" aria-live="polite" data-loading="">
      Loading {what}…
    </p>
  );
}

/** An error from the API, in its own words. */
export function ErrorMessage({ error, what }: { error: unknown; what: string }) {
  const message = error instanceof Error ? error.message : String(error);
  return (
    <div className="error" role="alert">
      <strong>Could not load {what}.</strong> {message}
    </div>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <p className="empty">{children}</p>;
}

/** An instant in the browser's locale, with the exact value on hover and for machines. */
export function Time({ iso }: { iso: string | null | undefined }) {
  if (iso === null || iso === undefined || iso === "") return <span className="muted">—</span>;
  const date = new Date(iso);
  return (
    <time dateTime={iso} title={iso}>
      {Number.isNaN(date.getTime()) ? iso : date.toLocaleString()}
    </time>
  );
}

/** A table in its own scrolling region, so a narrow screen scrolls the table, not the page. */
export function TableRegion({ label, children }: { label: string; children: ReactNode }) {
  return (
    // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrolling region must be reachable by keyboard to scroll it
    <section className="table-region" aria-label={label} tabIndex={0}>
      {children}
    </section>
  );
}

let navigated = false;

/** The page's title, focused when the page opens so a screen reader announces where one is. */
export function PageTitle({ children }: { children: ReactNode }) {
  const ref = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    // Not on the first page of a visit: there the browser's own order starts with the skip link.
    if (navigated) ref.current?.focus({ preventScroll: true });
    navigated = true;
  }, []);
  return (
    <h1 tabIndex={-1} ref={ref}>
      {children}
    </h1>
  );
}
