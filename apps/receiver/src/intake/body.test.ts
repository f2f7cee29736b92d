import { describe, expect, it } from 'vitest';
import { headersFromRaw, readBodyWithLimit } from './body';
import { BodyBudget } from './body-budget';

/** A request whose body sends `chunks` and then, unless `end`, never finishes (the last byte withheld). */
function streamed(chunks: Uint8Array[], { end = true, length }: { end?: boolean; length?: number } = {}): Request {
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const c of chunks) controller.enqueue(c);
      if (end) controller.close();
    },
  });
  const headers: Record<string, string> = length === undefined ? {} : { 'content-length': String(length) };
  return new Request('http://x/', { method: 'POST', body, headers, duplex: 'half' } as RequestInit);
}
const kib = (n: number) => new Uint8Array(n * 1024).fill(120);

describe('readBodyWithLimit', () => {
  it('gives up on a body that does not finish by the deadline (timeout); it held only what arrived, released with the lease', async () => {
    const budget = new BodyBudget({ totalBytes: 1024 * 1024, perTenantBytes: 256 * 1024 });
    const lease = budget.lease('slow');
    const read = readBodyWithLimit(streamed([kib(63)], { end: false, length: 64 * 1024 }), 64 * 1024, { deadlineMs: 50, lease });
    expect(await read).toEqual({ ok: false, reason: 'timeout' });
    expect(budget.held('slow')).toBe(63 * 1024); // what arrived, not the declared length
    lease.release();
    expect(budget.held()).toBe(0);
  });

  it("refuses a large body past the tenant's share or 3/4 of the total (busy) at the chunk that passes it; small bodies only past the total", async () => {
    const budget = new BodyBudget({ totalBytes: 256 * 1024, perTenantBytes: 128 * 1024, smallBodyBytes: 16 * 1024 });
    /** One request: read, then answered (its lease released, as the route does). */
    const read = async (tenant: string, chunks: Uint8Array[]) => {
      const lease = budget.lease(tenant);
      try {
        const r = await readBodyWithLimit(streamed(chunks), 64 * 1024, { lease });
        return r.ok ? 'read' : r;
      } finally {
        lease.release();
      }
    };
    const held = [budget.lease('a'), budget.lease('a'), budget.lease('b')];
    for (const l of held) expect(l.reserve(64 * 1024)).toEqual({ ok: true }); // three large bodies: 192 KiB
    // Tenant a's share is full: its next body is refused once it turns large, not while small.
    expect(await read('a', [kib(8), kib(8), kib(8)])).toEqual({ ok: false, reason: 'busy', scope: 'tenant' });
    expect(await read('a', [kib(8)])).toBe('read');
    // Large bodies together are at 3/4 of the total: another tenant's large body is refused, its small one read.
    expect(await read('c', [kib(8), kib(8), kib(8)])).toEqual({ ok: false, reason: 'busy', scope: 'process' });
    expect(await read('c', [kib(16)])).toBe('read');
    // The last quarter is for small bodies; past the total even they wait.
    const small = [budget.lease('c'), budget.lease('d'), budget.lease('e'), budget.lease('f')];
    for (const l of small) expect(l.reserve(16 * 1024)).toEqual({ ok: true });
    expect(await read('g', [kib(1)])).toEqual({ ok: false, reason: 'busy', scope: 'process' });
    for (const l of small) l.release();
    held[0]?.release();
    expect(await read('c', [kib(8), kib(8), kib(8)])).toBe('read');
    for (const l of held) l.release();
    expect(budget.held()).toBe(0);
  });

  it('cuts off a body that stalls after its last burst (pace), long before the overall deadline; one that keeps its pace is read', async () => {
    const pace = { graceMs: 100, bytesPerSecond: 1024 * 1024 };
    const stalled = readBodyWithLimit(streamed([kib(63)], { end: false, length: 64 * 1024 }), 64 * 1024, { deadlineMs: 60_000, pace });
    const outcome = await Promise.race([stalled, new Promise((r) => setTimeout(() => r('still waiting'), 5_000))]);
    expect(outcome).toEqual({ ok: false, reason: 'timeout' });
    // Chunks 50 ms apart, each buying ~60 ms more (a generous grace: timers run late on a busy machine).
    const body = new ReadableStream<Uint8Array>({
      async start(controller) {
        for (let i = 0; i < 4; i++) {
          controller.enqueue(kib(64));
          await new Promise((r) => setTimeout(r, 50));
        }
        controller.close();
      },
    });
    const request = new Request('http://x/', { method: 'POST', body, duplex: 'half' } as RequestInit);
    const kept = await readBodyWithLimit(request, 1024 * 1024, { deadlineMs: 60_000, pace: { ...pace, graceMs: 1_000 } });
    expect(kept.ok && kept.bytes.byteLength).toBe(256 * 1024);
  });

  it('reads a complete body within the deadline, declared or chunked, and still refuses one past the limit', async () => {
    const lease = new BodyBudget({ totalBytes: 1024 * 1024, perTenantBytes: 1024 * 1024 }).lease('t');
    const declared = await readBodyWithLimit(streamed([kib(2), kib(2)], { length: 4096 }), 8192, { deadlineMs: 10_000, lease });
    expect(declared.ok && declared.bytes.byteLength).toBe(4096);
    const chunked = await readBodyWithLimit(streamed([kib(2), kib(2)]), 8192, { deadlineMs: 10_000, lease });
    expect(chunked.ok && chunked.bytes.byteLength).toBe(4096);
    expect(await readBodyWithLimit(streamed([kib(9)]), 8192, { lease })).toEqual({ ok: false, reason: 'too_large' });
    expect(await readBodyWithLimit(streamed([kib(1)], { length: 9000 }), 8192, { lease })).toEqual({ ok: false, reason: 'too_large' });
  });
});

/** What `c.req.header()` gives: a WHATWG Headers object's entries as a record. */
function viaHeaders(raw: string[]): Record<string, string> {
  const h = new Headers();
  for (let i = 0; i < raw.length; i += 2) h.append(raw[i] as string, raw[i + 1] as string);
  const out: Record<string, string> = {};
  h.forEach((v, k) => {
    out[k] = v;
  });
  return out;
}

describe('headersFromRaw', () => {
  it('gives the record Headers gives: lowercase names, repeats joined with ", "', () => {
    const raw = [
      'Content-Type',
      'application/json',
      'Stripe-Signature',
      't=1,v1=aa',
      'X-Forwarded-For',
      '10.0.0.1',
      'x-forwarded-for',
      '10.0.0.2',
      'stripe-signature',
      'v1=bb',
    ];
    expect({ ...headersFromRaw(raw) }).toEqual(viaHeaders(raw));
    expect(headersFromRaw(raw)['stripe-signature']).toBe('t=1,v1=aa, v1=bb');
  });

  it('treats a header named __proto__ as a header, and skips HTTP/2 pseudo-headers', () => {
    const h = headersFromRaw([':path', '/x', '__proto__', '{"polluted":true}', 'a', '1']);
    expect(Object.keys(h)).toEqual(['__proto__', 'a']);
    const protoName = '__proto__';
    expect(h[protoName]).toBe('{"polluted":true}');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(JSON.parse(JSON.stringify(h))).toEqual(JSON.parse('{"__proto__":"{\\"polluted\\":true}","a":"1"}'));
  });
});
