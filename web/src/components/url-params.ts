import { startTransition, useOptimistic } from "react";
import { useSearchParams } from "react-router";

/**
 * A page's filters and cursor in its URL, so a page of results is a link. Changing a filter goes back
 * to the first page; `page` moves the cursor alone.
 *
 * The router changes the URL in a transition, so a controlled input bound to it (a checkbox) would show
 * its old value until the transition ends — a flicker, and a click that seems lost under load. The
 * values read here are the optimistic ones: the new URL from the moment it is asked for.
 */
export function useUrlParams() {
  const [committed, setParams] = useSearchParams();
  const [params, setOptimistic] = useOptimistic(committed);
  const go = (next: URLSearchParams) =>
    startTransition(() => {
      setOptimistic(next);
      setParams(next);
    });
  const value = (key: string): string => params.get(key) ?? "";
  return {
    value,
    cursor: params.get("cursor") ?? undefined,
    /** Sets the filters given (an empty value removes one), keeping the others, from the first page. */
    filter(changes: Record<string, string>) {
      const next = new URLSearchParams(params);
      next.delete("cursor");
      for (const [key, v] of Object.entries(changes)) {
        if (v.trim() === "") next.delete(key);
        else next.set(key, v.trim());
      }
      go(next);
    },
    page(cursor: string | undefined) {
      const next = new URLSearchParams(params);
      if (cursor === undefined) next.delete("cursor");
      else next.set("cursor", cursor);
      go(next);
    },
  };
}
