import type { UseQueryResult } from "@tanstack/react-query";
import type { ReactNode } from "react";
import { Empty, ErrorMessage, Loading } from "./states.js";

/**
 * The states every read of the console has, said the same way on every page: loading, the API's error,
 * empty (when `isEmpty` says so), or the data handed to `children`.
 */
export function QueryView<T>({
  query,
  what,
  loading,
  isEmpty,
  empty,
  children,
}: {
  query: UseQueryResult<T>;
  /** What is read, in words: "identities", "the plan". */
  what: string;
  /** What the loading message says instead of `what`, when it should say more. */
  loading?: string;
  isEmpty?: (data: T) => boolean;
  empty?: ReactNode;
  children: (data: T) => ReactNode;
}) {
  if (query.isPending) return <Loading what={loading ?? what} />;
  if (query.isError) return <ErrorMessage error={query.error} what={what} />;
  if (isEmpty?.(query.data)) return <Empty>{empty}</Empty>;
  return <>{children(query.data)}</>;
}
