import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createManyChatClient, ManyChatError } from './client';

let server: Server | null = null;
afterEach(() => new Promise<void>((r) => (server ? server.close(() => r()) : r())));

/** A local ManyChat stand-in answering with `answers` in turn; records requests. */
async function fakeManyChat(
  answers: Array<{ status: number; body?: unknown; raw?: string; delayMs?: number; headers?: Record<string, string> }>,
) {
  const seen: IncomingMessage[] = [];
  let i = 0;
  server = createServer((req, res) => {
    seen.push(req);
    const a = answers[Math.min(i++, answers.length - 1)]!;
    setTimeout(() => {
      res.writeHead(a.status, { 'content-type': 'application/json', ...a.headers });
      res.end(a.raw ?? JSON.stringify(a.body ?? {}));
    }, a.delayMs ?? 0);
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  return { baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

describe('ManyChat client', () => {
  it('fetches a subscriber with the tenant key as bearer token', async () => {
    const fake = await fakeManyChat([{ status: 200, body: { status: 'success', data: { id: '42' } } }]);
    const client = createManyChatClient({ baseUrl: fake.baseUrl });
    await expect(client.getSubscriber('key-1', '42')).resolves.toEqual({ status: 'success', data: { id: '42' } });
    expect(fake.seen[0]?.url).toBe('/fb/subscriber/getInfo?subscriber_id=42');
    expect(fake.seen[0]?.headers.authorization).toBe('Bearer key-1');
  });

  // ManyChat's getInfo answers `ig_id` as a bare number; Instagram ids are 17 digits, past 2^53.
  it('reads ids past 2^53 exactly', async () => {
    const fake = await fakeManyChat([{ status: 200, raw: '{"status":"success","data":{"id":"42","ig_id":17841400123456789}}' }]);
    const client = createManyChatClient({ baseUrl: fake.baseUrl });
    await expect(client.getSubscriber('k', '42')).resolves.toEqual({ status: 'success', data: { id: '42', ig_id: '17841400123456789' } });
  });

  it('retries 5xx and 429, then succeeds', async () => {
    const fake = await fakeManyChat([
      { status: 502 },
      { status: 429, headers: { 'retry-after': '0' } },
      { status: 200, body: { data: { id: '1' } } },
    ]);
    const client = createManyChatClient({ baseUrl: fake.baseUrl, backoffMs: 1 });
    await expect(client.getSubscriber('k', '1')).resolves.toEqual({ data: { id: '1' } });
    expect(fake.seen).toHaveLength(3);
  });

  it('gives up with a retryable error after its retries, and does not retry a 401', async () => {
    const down = await fakeManyChat([{ status: 503 }]);
    const client = createManyChatClient({ baseUrl: down.baseUrl, backoffMs: 1, retries: 2 });
    const err = await client.getSubscriber('secret-key', '1').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ManyChatError);
    expect(err).toMatchObject({ retryable: true, status: 503 });
    expect(String((err as Error).message)).not.toContain('secret-key');
    expect(down.seen).toHaveLength(3);
    await new Promise<void>((r) => server!.close(() => r()));
    const denied = await fakeManyChat([{ status: 401 }]);
    const c2 = createManyChatClient({ baseUrl: denied.baseUrl, backoffMs: 1 });
    await expect(c2.getSubscriber('k', '1')).rejects.toMatchObject({ retryable: false, status: 401 });
    expect(denied.seen).toHaveLength(1);
  });

  // Operator walk, stop 37: "network error: fetch failed" named neither the cause nor the address.
  it('a network failure names its cause and address', async () => {
    const fake = await fakeManyChat([{ status: 200 }]);
    await new Promise<void>((r) => server!.close(() => r()));
    server = null;
    const client = createManyChatClient({ baseUrl: fake.baseUrl, retries: 0 });
    await expect(client.getSubscriber('k', '1')).rejects.toMatchObject({
      retryable: true,
      message: `ManyChat getInfo network error: fetch failed (ECONNREFUSED ${fake.baseUrl.replace('http://', '')})`,
    });
  });

  it('times out a hung request', async () => {
    const fake = await fakeManyChat([{ status: 200, delayMs: 500 }]);
    const client = createManyChatClient({ baseUrl: fake.baseUrl, timeoutMs: 50, retries: 0 });
    await expect(client.getSubscriber('k', '1')).rejects.toMatchObject({ retryable: true, message: 'ManyChat getInfo timed out' });
  });

  it('an abort (worker shutdown) ends a backoff wait at once with the abort reason', async () => {
    const fake = await fakeManyChat([{ status: 503 }]);
    const client = createManyChatClient({ baseUrl: fake.baseUrl, backoffMs: 10_000, retries: 5 });
    const controller = new AbortController();
    const t0 = performance.now();
    setTimeout(() => controller.abort(), 100);
    const err = await client.getSubscriber('k', '1', { signal: controller.signal }).catch((e: unknown) => e);
    expect(performance.now() - t0).toBeLessThan(2_000);
    expect((err as Error).name).toBe('AbortError');
    expect(fake.seen).toHaveLength(1);
  });

  it('waits what Retry-After asks rather than its own backoff', async () => {
    const fake = await fakeManyChat([
      { status: 429, headers: { 'retry-after': '0' } },
      { status: 200, body: { data: { id: '1' } } },
    ]);
    const client = createManyChatClient({ baseUrl: fake.baseUrl, backoffMs: 10_000, retries: 1 });
    const t0 = performance.now();
    await expect(client.getSubscriber('k', '1')).resolves.toEqual({ data: { id: '1' } });
    expect(performance.now() - t0).toBeLessThan(2_000);
  });
});
