import { randomUUID } from 'node:crypto';
import { request, type Server } from 'node:http';
import { type AddressInfo, connect } from 'node:net';
import { serve } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Receiver } from '../src/app';
import { httpServerOptions, receiverEnvSchema } from '../src/env';
import { captureLogger, createHarness, eventually, type Harness, logsOf, makeReceiver, makeTenant } from './harness';

// What one tenant's senders — or anyone posting to a tenant's URL — can take from the others: body
// bytes held in memory (slow bodies), accepted intake bytes (a flood with the tenant's own secret), and
// the budget of stored rejections (junk crowding out the evidence of a misconfigured sender). Each test
// checks what happens to OTHER tenants' deliveries.

const h: Harness = createHarness('budgets');
afterAll(() => h.close());

const secret = `sh-${randomUUID()}`;
const delivery = (pad = 0) => JSON.stringify({ id: randomUUID(), trigger: 'lead_created', pad: 'p'.repeat(pad) });
const codeOf = async (res: Response) => ((await res.json()) as { error?: { code: string } }).error?.code;

/** A receiver on a real socket (slow bodies need one: `app.request()` has no connection to hold). */
async function listen(
  receiver: Receiver,
  serverOptions: ReturnType<typeof httpServerOptions> | undefined = undefined,
): Promise<{ port: number; close: () => Promise<void> }> {
  const server = serve({ fetch: receiver.app.fetch, port: 0, hostname: '127.0.0.1', serverOptions }) as Server;
  await new Promise<void>((r) => (server.listening ? r() : server.once('listening', () => r())));
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/**
 * A POST declaring `length` bytes of which it sends all but the last: the body never completes. The
 * answer, if the server gives one, resolves `answer`; `abort` closes the connection from our side.
 */
function slowPost(port: number, path: string, length: number, headers: Record<string, string> = {}) {
  let abort = () => {};
  const answer = new Promise<Answer | 'closed'>((resolve) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path,
        headers: { 'content-type': 'application/json', 'content-length': String(length), ...headers },
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          body += d;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
        res.on('error', () => resolve('closed'));
      },
    );
    req.on('error', () => resolve('closed'));
    req.write(Buffer.alloc(length - 1, 0x20));
    abort = () => req.destroy();
  });
  return { answer, abort: () => abort() };
}

/** Resolves with `p`, or with 'no answer' after `ms` (a request the code under test leaves hanging). */
const within = <T>(p: Promise<T>, ms: number) =>
  Promise.race([p, new Promise<'no answer'>((r) => setTimeout(() => r('no answer'), ms).unref())]);

/** A complete POST over the socket. */
function post(port: number, path: string, body: string, headers: Record<string, string> = {}) {
  return new Promise<Answer>((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, method: 'POST', path, headers: { 'content-type': 'application/json', ...headers } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          text += d;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

describe('slow bodies (a body that never completes)', () => {
  let attacker: { id: string; slug: string };
  let victim: { id: string; slug: string };
  beforeAll(async () => {
    attacker = await makeTenant(h, { perspective: secret });
    victim = await makeTenant(h, { perspective: secret });
  });

  it('past the body read deadline: 408 request_timeout in the JSON error shape, nothing stored; another tenant is served meanwhile', async () => {
    const receiver = makeReceiver(h, { bodyLimitBytes: 64 * 1024, bodyReadTimeoutMs: 300 });
    const server = await listen(receiver);
    try {
      // No signature needed: the body is read before the integration is checked.
      const slow = slowPost(server.port, `/api/webhooks/${attacker.slug}/perspective`, 64 * 1024);
      const ok = await post(server.port, `/api/webhooks/${victim.slug}/perspective`, delivery(), { 'x-webhook-secret': secret });
      expect(ok.status).toBe(200);
      const answer = await within(slow.answer, 10_000);
      expect(answer).not.toBe('no answer');
      expect(answer).not.toBe('closed');
      const a = answer as Answer;
      expect(a.status).toBe(408);
      expect(JSON.parse(a.body)).toEqual({
        error: { code: 'request_timeout', message: expect.any(String), requestId: expect.any(String) },
      });
      expect(await logsOf(h, attacker.id)).toEqual([]);
      expect((await logsOf(h, victim.id)).map((r) => r.status)).toEqual(['received']);
    } finally {
      await server.close();
      await receiver.close();
    }
  });

  it('a body that stalls after its first burst is cut off by its pace (408 in ~2.6 s, not the 15 s deadline); its bytes are released', async () => {
    const receiver = makeReceiver(h, { bodyLimitBytes: 64 * 1024 });
    const server = await listen(receiver);
    try {
      const slow = slowPost(server.port, `/api/webhooks/${attacker.slug}/perspective`, 64 * 1024);
      await eventually(async () => receiver.bodyBudget.held(attacker.id) === 64 * 1024 - 1);
      const answer = await within(slow.answer, 10_000);
      expect(answer).not.toBe('no answer');
      expect((answer as Answer).status).toBe(408);
      expect(receiver.bodyBudget.held()).toBe(0);
    } finally {
      await server.close();
      await receiver.close();
    }
  });

  it("the server's own deadlines (main.ts options): headers that never complete are answered 408 and closed; another tenant is served meanwhile", async () => {
    const receiver = makeReceiver(h);
    const server = await listen(
      receiver,
      httpServerOptions({ REQUEST_TIMEOUT_MS: 2_000, HEADERS_TIMEOUT_MS: 1_000, KEEP_ALIVE_TIMEOUT_MS: 65_000 }),
    );
    try {
      const socket = connect(server.port, '127.0.0.1');
      let received = '';
      socket.setEncoding('utf8');
      socket.on('data', (d: string) => {
        received += d;
      });
      const closed = new Promise<'closed'>((r) => socket.on('close', () => r('closed')));
      socket.on('error', () => {});
      socket.write(`POST /api/webhooks/${attacker.slug}/perspective HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n`);
      const ok = await post(server.port, `/api/webhooks/${victim.slug}/perspective`, delivery(), { 'x-webhook-secret': secret });
      expect(ok.status).toBe(200);
      // Node's defaults would hold it 60 s (headers) and look only every 30 s.
      expect(await within(closed, 15_000)).toBe('closed');
      expect(received).toMatch(/^HTTP\/1\.1 408/);
    } finally {
      await server.close();
      await receiver.close();
    }
  });

  it('an idle keep-alive connection outlives a proxy’s 60 s idle wait: a delivery 6 s after the last one, on the same connection, is answered', async () => {
    // Node's own 5 s closed it first: a proxy in front (ALB, ingress-nginx: 60 s) could send a POST on a
    // connection the receiver was closing, and the provider got a 502. The receiver's default is 65 s.
    const receiver = makeReceiver(h);
    const keepAlive = receiverEnvSchema.shape.KEEP_ALIVE_TIMEOUT_MS.parse(undefined);
    const server = await listen(
      receiver,
      httpServerOptions({ REQUEST_TIMEOUT_MS: 30_000, HEADERS_TIMEOUT_MS: 10_000, KEEP_ALIVE_TIMEOUT_MS: keepAlive }),
    );
    try {
      const socket = connect(server.port, '127.0.0.1');
      let received = '';
      socket.setEncoding('utf8');
      socket.on('data', (d: string) => {
        received += d;
      });
      let closedAt: number | null = null;
      socket.on('close', () => {
        closedAt = Date.now();
      });
      socket.on('error', () => {});
      const send = () => {
        const body = delivery();
        socket.write(
          `POST /api/webhooks/${victim.slug}/perspective HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n` +
            `X-Webhook-Secret: ${secret}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
        );
      };
      // Status lines (a body ends without a newline, so the next answer's starts mid-line).
      const answers = () => received.match(/HTTP\/1\.1 \d{3}/g) ?? [];
      send();
      await eventually(async () => answers().length >= 1);
      expect(answers()).toEqual(['HTTP/1.1 200']);
      await new Promise((r) => setTimeout(r, 6_000));
      expect(closedAt).toBeNull();
      send();
      await eventually(async () => answers().length >= 2 || closedAt !== null);
      expect(answers()).toEqual(['HTTP/1.1 200', 'HTTP/1.1 200']);
      socket.destroy();
    } finally {
      await server.close();
      await receiver.close();
    }
  });

  it("slow LARGE bodies take their tenant's share and at most 3/4 of the total: that tenant's and every tenant's everyday deliveries are still 200", async () => {
    const t = await makeTenant(h, { perspective: secret });
    const other = await makeTenant(h, { perspective: secret });
    const third = await makeTenant(h, { perspective: secret });
    // Large: past 16 KiB. Share: 2 bodies at the limit per tenant; large bodies together: 3 (3/4 of 4).
    const receiver = makeReceiver(h, {
      bodyLimitBytes: 64 * 1024,
      bodyBudgetSmallBytes: 16 * 1024,
      bodyBudgetPerTenantBytes: 128 * 1024,
      bodyBudgetBytes: 256 * 1024,
      bodyReadTimeoutMs: 60_000,
      bodyReadPace: { graceMs: 60_000, bytesPerSecond: 1 },
    });
    const server = await listen(receiver);
    const slow: Array<ReturnType<typeof slowPost>> = [];
    const sent = 64 * 1024 - 1; // slowPost withholds the last byte
    try {
      const path = (slug: string) => `/api/webhooks/${slug}/perspective`;
      const ok = { 'x-webhook-secret': secret };
      for (let i = 0; i < 2; i++) slow.push(slowPost(server.port, path(t.slug), 64 * 1024));
      // What arrived is held (no secret needed: the body is read before the integration is checked).
      await eventually(async () => receiver.bodyBudget.held(t.id) === 2 * sent);
      // The tenant's share is full: its next large body is refused as soon as it turns large.
      const refusedLarge = await within(slowPost(server.port, path(t.slug), 64 * 1024).answer, 10_000);
      expect(refusedLarge).not.toBe('no answer');
      expect((refusedLarge as Answer).status).toBe(503);
      expect((refusedLarge as Answer).headers['retry-after']).toBe('5');
      expect(JSON.parse((refusedLarge as Answer).body).error.code).toBe('unavailable');
      // …but its everyday (small) deliveries are still read and stored, and other tenants' too.
      expect((await post(server.port, path(t.slug), delivery(1000), ok)).status).toBe(200);
      expect((await post(server.port, path(other.slug), delivery(1000), ok)).status).toBe(200);
      // Another tenant's slow large bodies: large bodies together stop at 3/4 of the total.
      for (let i = 0; i < 2; i++) slow.push(slowPost(server.port, path(other.slug), 64 * 1024));
      await eventually(async () => receiver.bodyBudget.held(other.id) === sent);
      const large = await post(server.port, path(third.slug), delivery(40 * 1024), ok);
      expect([large.status, large.headers['retry-after']]).toEqual([503, '5']);
      // The quarter left is for small bodies: a third tenant's delivery is 200.
      expect((await post(server.port, path(third.slug), delivery(1000), ok)).status).toBe(200);
      const refused = (await receiver.metrics.bodyBudgetRefused.get()).values;
      expect(refused.find((v) => v.labels.tenant === t.slug && v.labels.scope === 'tenant')?.value).toBe(1);
      expect(refused.find((v) => v.labels.tenant === third.slug && v.labels.scope === 'process')?.value).toBe(1);
      // The slow senders go away: their reservations are released and large bodies are served again.
      for (const s of slow) s.abort();
      await eventually(async () => receiver.bodyBudget.held() === 0);
      expect((await post(server.port, path(third.slug), delivery(40 * 1024), ok)).status).toBe(200);
      // Nothing of a refused or unfinished body was stored.
      expect((await logsOf(h, t.id)).map((r) => r.status)).toEqual(['received']);
    } finally {
      for (const s of slow) s.abort();
      await server.close();
      await receiver.close();
    }
  });

  it('a declared Content-Length holds nothing until the bytes arrive: 200 connections claiming 1 MiB and sending none leave every delivery 200', async () => {
    const receiver = makeReceiver(h, {
      bodyBudgetBytes: 8 * 1024 * 1024,
      bodyBudgetPerTenantBytes: 2 * 1024 * 1024,
      bodyReadTimeoutMs: 60_000,
      bodyReadPace: { graceMs: 60_000, bytesPerSecond: 1 },
    });
    const server = await listen(receiver);
    const sockets: ReturnType<typeof connect>[] = [];
    try {
      for (let i = 0; i < 200; i++) {
        const socket = connect(server.port, '127.0.0.1');
        socket.on('error', () => {});
        socket.write(
          `POST /api/webhooks/${i % 2 ? attacker.slug : victim.slug}/perspective HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1048576\r\n\r\n`,
        );
        sockets.push(socket);
      }
      // 200 MiB claimed against an 8 MiB budget: had the claims been reserved, every delivery would be 503.
      for (const slug of [victim.slug, attacker.slug]) {
        const answer = await post(server.port, `/api/webhooks/${slug}/perspective`, delivery(30 * 1024), { 'x-webhook-secret': secret });
        expect(answer.status).toBe(200);
      }
      expect(receiver.bodyBudget.held()).toBe(0);
    } finally {
      for (const s of sockets) s.destroy();
      await server.close();
      await receiver.close();
    }
  });
});

describe('a tenant flooding intake with its own valid secret (budget of accepted bytes)', () => {
  it("past its budget: 429 rate_limited + Retry-After, nothing stored, one warning a minute with no payload; other tenants' deliveries are all stored", async () => {
    const flooder = await makeTenant(h, { perspective: secret });
    const victim = await makeTenant(h, { perspective: secret });
    const { log, lines } = captureLogger();
    // 256 KiB a minute, as a burst too: four 60 KB deliveries, then one every ~14 s.
    const receiver = makeReceiver(h, { log, bodyLimitBytes: 64 * 1024, intakeBytesPerTenantPerMinute: 256 * 1024 });
    try {
      const send = (slug: string, body: string) =>
        receiver.app.request(`/api/webhooks/${slug}/perspective`, { method: 'POST', body, headers: { 'x-webhook-secret': secret } });
      const marker = `flood-${randomUUID()}`;
      const answers: Response[] = [];
      for (let i = 0; i < 8; i++)
        answers.push(await send(flooder.slug, JSON.stringify({ id: randomUUID(), marker, pad: 'p'.repeat(60_000) })));
      expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200, 429, 429, 429, 429]);
      const refused = answers[4] as Response;
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(await codeOf(refused)).toBe('rate_limited');
      // Nothing stored for a refused delivery.
      expect(await logsOf(h, flooder.id)).toHaveLength(4);
      // The other tenant is untouched: every delivery 200 and stored.
      const victims = await Promise.all(Array.from({ length: 20 }, () => send(victim.slug, delivery(2_000))));
      expect(victims.map((v) => v.status)).toEqual(victims.map(() => 200));
      expect(await logsOf(h, victim.id)).toHaveLength(20);
      expect((await receiver.metrics.intakeRateLimited.get()).values).toEqual([
        expect.objectContaining({ labels: { tenant: flooder.slug }, value: 4 }),
      ]);
      const warnings = lines.filter((l) => l.includes('intake rate limited'));
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toContain(flooder.slug);
      expect(warnings[0]).not.toContain(marker);
      expect(warnings[0]).not.toContain(secret);
    } finally {
      await receiver.close();
    }
  });
});

describe("a tenant's budget of accepted bytes counts headers too", () => {
  it('tiny bodies with 14 KB of headers each are charged their headers: past the budget 429, nothing stored', async () => {
    // Review of stop 37: charged by the body alone (36 bytes), 8,195 such deliveries went through in 20 s
    // and stored 78 MB of headers.
    const flooder = await makeTenant(h, { perspective: secret });
    // 64 KiB a minute, as a burst too: four deliveries of ~14 KB of headers, then one every ~14 s.
    const receiver = makeReceiver(h, { bodyLimitBytes: 64 * 1024, intakeBytesPerTenantPerMinute: 64 * 1024 });
    try {
      const pad = Object.fromEntries(Array.from({ length: 14 }, (_, i) => [`x-pad-${i}`, 'h'.repeat(1_000)]));
      const answers: number[] = [];
      for (let i = 0; i < 8; i++) {
        const res = await receiver.app.request(`/api/webhooks/${flooder.slug}/perspective`, {
          method: 'POST',
          body: JSON.stringify({ id: randomUUID() }),
          headers: { 'x-webhook-secret': secret, ...pad },
        });
        answers.push(res.status);
      }
      expect(answers).toEqual([200, 200, 200, 200, 429, 429, 429, 429]);
      expect(await logsOf(h, flooder.id)).toHaveLength(4);
    } finally {
      await receiver.close();
    }
  });

  it('a budget that holds just the body limit still takes a body at the limit with its headers (the charge is capped at the budget)', async () => {
    const sender = await makeTenant(h, { perspective: secret });
    const limit = 64 * 1024;
    const receiver = makeReceiver(h, { bodyLimitBytes: limit, intakeBytesPerTenantPerMinute: limit });
    try {
      const head = JSON.stringify({ id: randomUUID(), pad: '' });
      const body = `${head.slice(0, -2)}${'p'.repeat(limit - head.length)}"}`;
      expect(Buffer.byteLength(body)).toBe(limit);
      const res = await receiver.app.request(`/api/webhooks/${sender.slug}/perspective`, {
        method: 'POST',
        body,
        headers: { 'x-webhook-secret': secret, 'user-agent': 'Perspective' },
      });
      expect(res.status).toBe(200);
    } finally {
      await receiver.close();
    }
  });
});

describe('junk cannot use up the budget of stored rejections that carried credentials', () => {
  it("70 credential-less POSTs to a tenant's URL, then its own delivery with an old secret: that one is stored as evidence", async () => {
    const victim = await makeTenant(h, { manychat: secret });
    const other = await makeTenant(h, { manychat: secret });
    const receiver = makeReceiver(h, { rejectionsStoredPerMinute: 10, credentialedRejectionsStoredPerMinute: 5 });
    try {
      const send = (slug: string, body: string, headers: Record<string, string> = {}) =>
        receiver.app.request(`/api/webhooks/${slug}/manychat`, {
          method: 'POST',
          body,
          headers: { 'content-type': 'application/json', ...headers },
        });
      const junk = await Promise.all(Array.from({ length: 70 }, () => send(victim.slug, '{"junk":true}')));
      expect(junk.map((r) => r.status)).toEqual(junk.map(() => 401));
      const marker = `old-secret-${randomUUID()}`;
      const misconfigured = await send(victim.slug, JSON.stringify({ subscriber: { id: marker } }), {
        'x-webhook-secret': 'the-old-secret',
      });
      expect(misconfigured.status).toBe(401);
      const rows = await logsOf(h, victim.id);
      expect(rows.filter((r) => r.raw_body?.includes('junk'))).toHaveLength(10);
      const evidence = rows.filter((r) => r.raw_body?.includes(marker));
      expect(evidence.map((r) => [r.status, r.headers['x-webhook-secret']])).toEqual([['rejected', '[redacted]']]);
      const notStored = (await receiver.metrics.rejectionsNotStored.get()).values;
      expect(notStored).toEqual([expect.objectContaining({ labels: { tenant: victim.slug, credentials: 'none' }, value: 60 })]);
      // Another tenant's deliveries and rejections are untouched by the victim's junk.
      expect((await send(other.slug, JSON.stringify({ subscriber: { id: randomUUID() } }), { 'x-webhook-secret': secret })).status).toBe(
        200,
      );
      expect((await send(other.slug, '{"x":1}')).status).toBe(401);
      expect((await logsOf(h, other.id)).map((r) => r.status)).toEqual(['received', 'rejected']);
    } finally {
      await receiver.close();
    }
  });

  it('credentialed rejections have their own bound: wrong secrets past it are only counted, and credential-less evidence is still stored', async () => {
    const t = await makeTenant(h, { manychat: secret });
    const receiver = makeReceiver(h, { rejectionsStoredPerMinute: 10, credentialedRejectionsStoredPerMinute: 5 });
    try {
      const send = (body: string, headers: Record<string, string> = {}) =>
        receiver.app.request(`/api/webhooks/${t.slug}/manychat`, {
          method: 'POST',
          body,
          headers: { 'content-type': 'application/json', ...headers },
        });
      for (let i = 0; i < 12; i++) expect((await send('{"forged":true}', { authorization: `Bearer guess-${i}` })).status).toBe(401);
      expect((await send('{"unsigned":true}')).status).toBe(401);
      const rows = await logsOf(h, t.id);
      expect(rows.filter((r) => r.raw_body?.includes('forged'))).toHaveLength(5);
      expect(rows.filter((r) => r.raw_body?.includes('unsigned'))).toHaveLength(1);
      const notStored = (await receiver.metrics.rejectionsNotStored.get()).values;
      expect(notStored).toEqual([expect.objectContaining({ labels: { tenant: t.slug, credentials: 'sent' }, value: 7 })]);
    } finally {
      await receiver.close();
    }
  });
});
