import type { IncomingMessage } from 'node:http';
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

/** Where a body comes from: Node's request stream (the server), or a WHATWG `Request` (`app.request()` in tests). */
export type BodySource = Request | IncomingMessage;

/**
 * Reads the raw body exactly once, enforcing `limit`: a declared `Content-Length` over the limit is
 * refused before reading; any body is cut off as soon as it passes the limit, and its bytes are
 * reserved on `lease` as they arrive (a declared length is a claim, not memory held). A body still
 * incomplete at `deadlineMs`, or behind its `pace`, is abandoned: a sender trickling bytes (or
 * withholding the last one) holds its reservation that long at most. The caller answers and releases the lease.
 *
 * Under the Node server the body is read from Node's own stream: `Request.body` made @hono/node-server
 * build a real undici Request and a web stream for every delivery (~300 µs of CPU per request, profiled:
 * it halved the receiver's throughput). One timer per read, re-armed only when it fires early (pace).
 */
export async function readBodyWithLimit(source: BodySource, limit: number, options: BodyReadOptions = {}): Promise<BodyRead> {
  const isNode = !(source instanceof Request);
  const declared = isNode ? (source.headers['content-length'] ?? null) : source.headers.get('content-length');
  if (declared !== null) {
    const n = Number(declared);
    if (!Number.isFinite(n) || n > limit) return { ok: false, reason: 'too_large' };
  }
  if (!isNode && !source.body) return { ok: true, bytes: new Uint8Array(0) };

  const { deadlineMs = Number.POSITIVE_INFINITY, pace } = options;
  /** Ms after the start by which the body must have arrived, given `size` bytes so far. */
  const allowedMs = (size: number) => Math.min(deadlineMs, pace ? pace.graceMs + (size * 1000) / pace.bytesPerSecond : deadlineMs);
  const started = performance.now();
  const chunks: Uint8Array[] = [];
  let size = 0;
  let reserved = 0;

  return new Promise<BodyRead>((resolve) => {
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    let stopReading: () => void = () => {};
    const finish = (result: BodyRead) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (!result.ok) stopReading();
      resolve(result);
    };
    // The deadline as of now; when it fires, bytes that arrived since may have bought more time (pace).
    const arm = (delay: number) => {
      if (delay === Number.POSITIVE_INFINITY) return;
      timer = setTimeout(() => {
        const left = started + allowedMs(size) - performance.now();
        if (left > 1) arm(Math.ceil(left));
        else finish({ ok: false, reason: 'timeout' });
      }, Math.ceil(delay));
    };
    arm(allowedMs(0));
    const onChunk = (value: Uint8Array) => {
      if (settled) return;
      size += value.byteLength;
      if (size > limit) return finish({ ok: false, reason: 'too_large' });
      if (options.lease && size > reserved) {
        const r = options.lease.reserve(size - reserved);
        if (!r.ok) return finish({ ok: false, reason: 'busy', scope: r.scope });
        reserved = size;
      }
      chunks.push(value);
    };
    const onEnd = () => finish({ ok: true, bytes: Buffer.concat(chunks, size) });
    const onAbort = () => finish({ ok: false, reason: 'aborted' });

    if (isNode) {
      const incoming = source;
      // Paused and detached, not destroyed: the answer (408, 413, 503) still goes out on this socket.
      stopReading = () => {
        incoming.off('data', onChunk);
        incoming.pause();
      };
      incoming.on('data', onChunk);
      incoming.once('end', onEnd);
      incoming.once('error', onAbort);
      incoming.once('aborted', onAbort);
      incoming.once('close', () => {
        if (!incoming.complete) onAbort();
      });
      return;
    }
    const reader = (source.body as ReadableStream<Uint8Array>).getReader();
    stopReading = () => void reader.cancel().catch(() => {});
    void (async () => {
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (settled) return;
          if (done) return onEnd();
          onChunk(value);
        }
      } catch {
        onAbort();
      }
    })();
  });
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

/**
 * What a delivery is charged against its tenant's intake budget: its body bytes plus its headers'
 * characters (names and values). Signatures cover the body only, so a sender with a tenant's secret
 * can add headers freely; charged by the body alone, 36-byte bodies with 14 KB of headers went
 * through unlimited (review of stop 37).
 */
export function intakeCharge(bodyBytes: number, headers: Record<string, string | undefined>): number {
  let n = bodyBytes;
  for (const name in headers) n += name.length + (headers[name]?.length ?? 0);
  return Math.max(1, n);
}
