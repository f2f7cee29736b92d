/**
 * Reads `read()` every `intervalMs` until `done(value)` holds or `timeoutMs` has passed, and returns the
 * last value read — the caller asserts on it, so a timeout fails with what was seen, never hangs.
 * A rejection from `read()` propagates (catch it in `read` to keep polling through one).
 */
export async function pollUntil<T>(
  read: () => Promise<T> | T,
  done: (value: T) => boolean,
  opts: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const { timeoutMs = 10_000, intervalMs = 50 } = opts;
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() >= end) return value;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
