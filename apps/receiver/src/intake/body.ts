import type { BodyBudgetScope, BodyLease } from './body-budget';

/**
 * The request body, read once; or why not: `too_large` as soon as it passes the limit, `timeout` when
 * it did not arrive within the read deadline, `aborted` when the sender went away mid-body, `busy` when
 * the body budget refused its bytes (`scope`).
 */
export type BodyRead =
  | { ok: true; bytes: Uint8Array }
  | { ok: false; reason: 'too_large' | 'timeout' | 'aborted' }
  | { ok: false; reason: 'busy'; scope: BodyBudgetScope };

export interface BodyReadOptions {
  /** Longest the whole body may take to arrive (ms); past it the read stops with `timeout`. */
  deadlineMs?: number;
  /**
   * The pace a body must keep (within `deadlineMs`): it may take `graceMs` plus one second per
   * `bytesPerSecond` arrived so far, else `timeout`. A provider sends its body at once; a sender holding
   * a body open (its bytes reserved) is cut off within `graceMs` of its last burst, not at `deadlineMs`.
   */
  pace?: { graceMs: number; bytesPerSecond: number };
  /** Reservations for the bytes read, as they arrive; none when absent. */
  lease?: BodyLease;
}

/**
 * Reads the raw body exactly once, enforcing `limit`: a declared `Content-Length` over the limit is
 * refused before reading; any body is cut off as soon as it passes the limit, and its bytes are
 * reserved on `lease` as they arrive (a declared length is a claim, not memory held). A body still
 * incomplete at `deadlineMs`, or behind its `pace`, is abandoned: a sender trickling bytes (or
 * withholding the last one) holds its reservation that long at most. The caller answers and releases the lease.
 */
export async function readBodyWithLimit(request: Request, limit: number, options: BodyReadOptions = {}): Promise<BodyRead> {
  let reserved = 0;
  const declared = request.headers.get('content-length');
  if (declared !== null) {
    const n = Number(declared);
    if (!Number.isFinite(n) || n > limit) return { ok: false, reason: 'too_large' };
  }
  if (!request.body) return { ok: true, bytes: new Uint8Array(0) };
  const reader = request.body.getReader();
  const stop = () => void reader.cancel().catch(() => {});
  let timedOut = false;
  const started = performance.now();
  const { deadlineMs = Number.POSITIVE_INFINITY, pace } = options;
  /** Ms after `started` by which the body must have arrived, given `size` bytes so far. */
  const allowedMs = (size: number) => Math.min(deadlineMs, pace ? pace.graceMs + (size * 1000) / pace.bytesPerSecond : deadlineMs);
  let allowed = allowedMs(0);
  let timer: NodeJS.Timeout | undefined;
  // Cancelling wakes the pending read (done); the flag tells it from a body that ended.
  const arm = () => {
    clearTimeout(timer);
    if (allowed === Number.POSITIVE_INFINITY) return;
    timer = setTimeout(
      () => {
        timedOut = true;
        stop();
      },
      Math.max(0, started + allowed - performance.now()),
    );
  };
  arm();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      let next: Awaited<ReturnType<typeof reader.read>>;
      try {
        next = await reader.read();
      } catch {
        return { ok: false, reason: timedOut ? 'timeout' : 'aborted' };
      }
      const { done, value } = next;
      if (timedOut) return { ok: false, reason: 'timeout' };
      if (done) break;
      size += value.byteLength;
      if (size > limit) {
        stop();
        return { ok: false, reason: 'too_large' };
      }
      if (options.lease && size > reserved) {
        const r = options.lease.reserve(size - reserved);
        if (!r.ok) {
          stop();
          return { ok: false, reason: 'busy', scope: r.scope };
        }
        reserved = size;
      }
      chunks.push(value);
      if (pace && allowed < deadlineMs) {
        allowed = allowedMs(size);
        arm();
      }
    }
  } finally {
    clearTimeout(timer);
  }
  return { ok: true, bytes: Buffer.concat(chunks, size) };
}

/**
 * All request headers as one record — lowercase names, repeated headers joined with ", " (as
 * `Headers` does) — read straight from Node's raw header list. `c.req.header()` builds the same
 * record through a WHATWG `Headers` object first (≈ 2 % of the receiver's CPU per request, profiled).
 * A null-prototype object, so a header named `__proto__` is just a header.
 */
export function headersFromRaw(rawHeaders: readonly string[]): Record<string, string> {
  const out: Record<string, string> = Object.create(null);
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = (rawHeaders[i] as string).toLowerCase();
    if (name.startsWith(':')) continue; // HTTP/2 pseudo-headers
    const value = rawHeaders[i + 1] as string;
    const seen = out[name];
    out[name] = seen === undefined ? value : `${seen}, ${value}`;
  }
  return out;
}
