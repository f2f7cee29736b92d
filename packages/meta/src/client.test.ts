import { type FakeGraph, startFakeGraph } from '@mcb/testing/fake-graph';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createGraphClient } from './client';
import { MetaBadResponse, MetaRateLimited, MetaRequestError, MetaTokenExpired, MetaTransientError } from './errors';

const token = 'EAAunit-test-token-0123456789';
let fake: FakeGraph;
beforeAll(async () => {
  fake = await startFakeGraph({ accounts: [{ adAccountId: 'act_42', token, ads: 12 }], maxPageSize: 5 });
});
afterAll(() => fake.close());

const client = (over: Partial<Parameters<typeof createGraphClient>[0]> = {}) =>
  createGraphClient({ baseUrl: fake.url, version: 'v25.0', accessToken: token, retryBaseMs: 1, ...over });
const ads = { fields: 'id,adset{id},campaign{id},creative{id}', limit: 5 };

async function drain(c = client()) {
  const ids: string[] = [];
  for await (const page of c.paginate<{ id: string }>('act_42/ads', {
    ...ads,
    effective_status: '["ACTIVE","PAUSED","ARCHIVED","DELETED","CAMPAIGN_PAUSED","ADSET_PAUSED"]',
  }))
    ids.push(...page.data.map((d) => d.id));
  return ids;
}

describe('Graph client', () => {
  // Operator walk, stop 37: "Meta Graph request fetch failed" named neither the cause nor the address.
  it('a network failure names its cause and address', async () => {
    const closed = await startFakeGraph({ accounts: [] });
    const url = closed.url;
    await closed.close();
    const c = createGraphClient({ baseUrl: url, version: 'v25.0', accessToken: token, retryBaseMs: 1, maxRetries: 0 });
    await expect(c.get('act_42/ads', {})).rejects.toMatchObject({
      message: `Meta Graph request fetch failed (ECONNREFUSED ${new URL(url).host})`,
    });
  });

  it('follows paging.next to the end, sending the token only as a header', async () => {
    const before = fake.requests.length;
    const ids = await drain();
    expect(ids).toHaveLength(12);
    expect(new Set(ids).size).toBe(12);
    const sent = fake.requests.slice(before);
    expect(sent).toHaveLength(3);
    expect(sent.some((r) => r.tokenInQuery)).toBe(false);
  });

  it('retries 5xx inside the client, bounded', async () => {
    fake.failAt(fake.requests.length + 1, { kind: 'server-error', status: 502 });
    expect(await drain()).toHaveLength(12);
    fake.failWhen(() => true, { kind: 'server-error' }, 3);
    await expect(drain(client({ maxRetries: 2 }))).rejects.toBeInstanceOf(MetaTransientError);
  });

  it('times out slow answers and retries them', async () => {
    fake.failAt(fake.requests.length + 1, { kind: 'slow', ms: 400 });
    expect(await drain(client({ timeoutMs: 150 }))).toHaveLength(12);
    fake.failWhen(() => true, { kind: 'slow', ms: 400 }, 2);
    await expect(drain(client({ timeoutMs: 100, maxRetries: 1 }))).rejects.toThrow(/timed out/);
  });

  it.each([4, 17, 613, 80000, 80004, 80014])('code %s is a rate limit with the wait from the usage headers', async (code) => {
    fake.failAt(fake.requests.length + 1, { kind: 'rate-limit', code, regainMinutes: 2, resetSeconds: 30 });
    const err = await drain().catch((e) => e);
    expect(err).toBeInstanceOf(MetaRateLimited);
    expect(err.waitMs).toBe(120_000);
    expect(err.code).toBe(code);
  });

  it('HTTP 429 without hints waits the default', async () => {
    fake.failAt(fake.requests.length + 1, { kind: 'rate-limit', code: 9999, status: 429 });
    const err = await drain(client({ defaultRateLimitWaitMs: 777 })).catch((e) => e);
    expect(err).toBeInstanceOf(MetaRateLimited);
    expect(err.waitMs).toBe(777);
  });

  it('190 is a permanent TokenExpired, not retried; other 4xx are permanent request errors', async () => {
    const before = fake.requests.length;
    fake.failAt(before + 1, { kind: 'token-expired' });
    await expect(drain()).rejects.toBeInstanceOf(MetaTokenExpired);
    expect(fake.requests.length).toBe(before + 1);
    await expect(drain(client({ accessToken: 'wrong' }))).rejects.toBeInstanceOf(MetaTokenExpired);
    await expect(client().get('act_42/insights', { level: 'campaign' })).rejects.toBeInstanceOf(MetaRequestError);
  });

  it('an abort (worker shutdown) ends retries at once', async () => {
    const controller = new AbortController();
    fake.failWhen(() => true, { kind: 'server-error' }, 50);
    const started = Date.now();
    setTimeout(() => controller.abort(), 100);
    const err = await drain(client({ retryBaseMs: 2_000, maxRetries: 10, signal: controller.signal })).catch((e) => e);
    expect(err).toBeInstanceOf(MetaTransientError);
    expect(err.message).toMatch(/aborted/);
    expect(Date.now() - started).toBeLessThan(1_500);
    fake.clearFaults();
  });

  it('error messages never contain the token', async () => {
    const err = await client({ accessToken: 'wrong-token-xyz' })
      .get('act_42/ads', ads)
      .catch((e) => e);
    expect(String(err.message)).not.toContain('wrong-token-xyz');
  });

  it('a paging.next that never ends stops at maxPages, counting the pages of earlier runs', async () => {
    fake.failWhen(() => true, { kind: 'endless-paging' }, 1_000);
    const before = fake.requests.length;
    const err = await drain(client({ maxPages: 7 })).catch((e) => e);
    expect(err).toBeInstanceOf(MetaBadResponse);
    expect(err.reason).toBe('page_cap');
    expect(err.message).toMatch(/did not end after 7 pages/);
    expect(fake.requests.length - before).toBe(7);
    // A resumed edge that already took 5 pages gets 2 more.
    const pages: number[] = [];
    const resumed = await (async () => {
      for await (const p of client({ maxPages: 7 }).paginate('act_42/ads', ads, 'endless1', 5)) pages.push(p.page);
    })().catch((e) => e);
    expect(resumed).toBeInstanceOf(MetaBadResponse);
    expect(pages).toEqual([6]);
    expect(fake.requests.length - before).toBe(9);
    fake.clearFaults();
  });

  it('a paging.next that leads back to a cursor already followed fails at once', async () => {
    fake.failWhen(() => true, { kind: 'repeat-cursor' }, 1_000);
    const before = fake.requests.length;
    const err = await drain().catch((e) => e);
    expect(err).toBeInstanceOf(MetaBadResponse);
    expect(err.reason).toBe('cursor_repeat');
    expect(err.message).toMatch(/repeated a cursor after 2 pages/);
    expect(fake.requests.length - before).toBe(2);
    fake.clearFaults();
  });

  it('a body over maxResponseBytes is cut off and fails, not retried; one far beyond `limit` rows fails too', async () => {
    const sent = { bytes: 0, closedEarly: false };
    fake.failWhen(() => true, { kind: 'huge-page', bytes: 8 * 1024 * 1024, sent }, 1);
    const before = fake.requests.length;
    const err = await drain(client({ maxResponseBytes: 256 * 1024 })).catch((e) => e);
    expect(err).toBeInstanceOf(MetaBadResponse);
    expect(err.reason).toBe('too_large');
    expect(err.message).toMatch(
      /^Meta Graph response over 262144 bytes \(META_MAX_RESPONSE_MB\): cut off after \d+ bytes of \/v25.0\/act_42\/ads$/,
    );
    expect(fake.requests.length - before).toBe(1);
    // The client closed the connection: the server never got to write the whole body.
    await vi.waitFor(() => expect(sent.closedEarly).toBe(true));
    expect(sent.bytes).toBeLessThan(8 * 1024 * 1024);

    // Under the byte cap, but ~230 rows for limit=5.
    fake.failWhen(() => true, { kind: 'huge-page', bytes: 256 * 1024 }, 1);
    const rows = await drain(client({ maxResponseBytes: 1024 * 1024 })).catch((e) => e);
    expect(rows).toBeInstanceOf(MetaBadResponse);
    expect(rows.reason).toBe('too_many_rows');
  });
});

describe('Graph client facing a hostile or broken Graph endpoint (red team, stop 32)', () => {
  /** A one-route HTTP server answering every request with `answer`; records what reached it. */
  async function server(answer: (res: import('node:http').ServerResponse) => void) {
    const { createServer } = await import('node:http');
    const seen: Array<{ url: string | undefined; auth: string | undefined }> = [];
    const srv = createServer((req, res) => {
      seen.push({ url: req.url, auth: req.headers.authorization });
      req.resume();
      answer(res);
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(srv.address() as { port: number }).port}`;
    return { url, seen, close: () => new Promise((r) => srv.close(r)) };
  }

  it('never follows a redirect: neither ads read from, nor a Conversions API event sent to, the host it names', async () => {
    const elsewhere = await server((res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"data":[{"id":"evil-ad"}]}'));
    const graph = await server((res) => res.writeHead(307, { location: `${elsewhere.url}/v25.0/act_1/ads` }).end());
    try {
      const c = createGraphClient({ baseUrl: graph.url, version: 'v25.0', accessToken: token, retryBaseMs: 1 });
      const read = await c.get('act_1/ads').catch((e) => e);
      expect(read).toBeInstanceOf(MetaRequestError);
      expect(read.message).toMatch(/^Meta Graph 307: answered a redirect \(to 127\.0\.0\.1:\d+\), not followed$/);
      const sent = await c.post('123/events', { data: [{ event_name: 'Lead' }] }).catch((e) => e);
      expect(sent).toBeInstanceOf(MetaRequestError);
      expect(elsewhere.seen).toEqual([]);
      // Final: not retried.
      expect(graph.seen).toHaveLength(2);
    } finally {
      await Promise.all([elsewhere.close(), graph.close()]);
    }
  });

  it("cuts Meta's error message and bounds a rate limit's wait", async () => {
    const huge = 'x'.repeat(5_000_000);
    const graph = await server((res) =>
      res
        .writeHead(400, { 'content-type': 'application/json', 'retry-after': '99999999999' })
        .end(JSON.stringify({ error: { code: 17, message: huge } })),
    );
    try {
      const c = createGraphClient({ baseUrl: graph.url, version: 'v25.0', accessToken: token, retryBaseMs: 1 });
      const err = await c.get('act_1/ads').catch((e) => e);
      expect(err).toBeInstanceOf(MetaRateLimited);
      expect(err.message.length).toBeLessThan(600);
      expect(err.message.endsWith('x…')).toBe(true);
      expect(err.waitMs).toBe(24 * 3_600_000);
    } finally {
      await graph.close();
    }
  });
});
