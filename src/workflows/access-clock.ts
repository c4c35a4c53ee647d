/**
 * In-process wake-up of the access timer: a grant, an extension or an early revoke calls
 * {@link accessChanged}, and the timer (workflows/access-timer.ts) re-reads the next end at once instead
 * of at its next poll. Across processes the poll is the backstop.
 */
const listeners = new Set<() => void>();

export function onAccessChanged(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function accessChanged(): void {
  for (const listener of listeners) listener();
}
