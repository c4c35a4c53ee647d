import { type QueryKey, useQueryClient } from "@tanstack/react-query";

/**
 * After a change: marks the queries under each key stale and resolves once the ones on screen are read
 * again. A mutation awaits it before it shows its outcome, so the page never says "closed" or "decided"
 * beside a button or a row from before the change (the mutation stays busy meanwhile). A failed read
 * resolves too: the query shows its own error.
 */
export function useRefetch(): (...keys: QueryKey[]) => Promise<void> {
  const client = useQueryClient();
  return async (...keys) => {
    await Promise.all(keys.map((queryKey) => client.invalidateQueries({ queryKey })));
  };
}
