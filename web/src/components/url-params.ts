import { useSearchParams } from "react-router";

/**
 * A page's filters and cursor in its URL, so a page of results is a link. Changing a filter goes back
 * to the first page; `page` moves the cursor alone.
 */
export function useUrlParams() {
  const [params, setParams] = useSearchParams();
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
      setParams(next);
    },
    page(cursor: string | undefined) {
      const next = new URLSearchParams(params);
      if (cursor === undefined) next.delete("cursor");
      else next.set("cursor", cursor);
      setParams(next);
    },
  };
}
