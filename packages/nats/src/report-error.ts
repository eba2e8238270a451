/**
 * Hands `err` to a subscriber's `onError`, never letting that callback's own failure escape into
 * the delivery loop (a throwing error handler must not stop deliveries or crash the process).
 */
export function reportError(onError: ((error: unknown) => void) | undefined, err: unknown): void {
  if (!onError) return;
  try {
    onError(err);
  } catch {
    // the error handler failed; nothing sensible is left to tell
  }
}
