/** Cursor pagination: the server hands out the next page's cursor; the first page has none. */
export function Pager({
  cursor,
  nextCursor,
  onPage,
  label,
}: {
  cursor: string | undefined;
  nextCursor: string | null | undefined;
  onPage: (cursor: string | undefined) => void;
  label: string;
}) {
  return (
    <nav className="pager" aria-label={`${label} pages`}>
      <button type="button" disabled={cursor === undefined} onClick={() => onPage(undefined)}>
        First page
      </button>
      <button type="button" disabled={!nextCursor} onClick={() => onPage(nextCursor ?? undefined)}>
        Next page
      </button>
    </nav>
  );
}
