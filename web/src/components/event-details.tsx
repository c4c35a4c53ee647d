/** An audit event in words, with its recorded details one click away (as the ledger holds them). */
export function EventDetails({ summary, details }: { summary: string; details: Record<string, unknown> }) {
  return (
    <details>
      <summary>{summary === "" ? "details" : summary}</summary>
      <pre>{JSON.stringify(details, null, 2)}</pre>
    </details>
  );
}
