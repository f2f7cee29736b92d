import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { createLogger } from '@mcb/core';
import { WebhookEnqueuer } from '@mcb/queue';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createHarness, type Harness, settledJobState } from './harness';

// SPEC §10.6 (issue 13 fault suite): a poison event — its ManyChat fetch always answers 500 — is
// retried with exponential backoff, then stays failed and visible; the events queued behind it in
// the same tenant's queue are processed meanwhile.

let h: Harness;
let manychat: Server;
beforeAll(async () => {
  manychat = createServer((req, res) => {
    const id = /subscriber_id=([^&]+)/.exec(req.url ?? '')?.[1] ?? 'x';
    if (id === 'poison') return void res.writeHead(500, { 'content-type': 'application/json' }).end('{"status":"error"}');
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ status: 'success', data: { id, first_name: 'Fine', email: `${id}@example.com`, custom_fields: [] } }));
  });
  await new Promise<void>((r) => manychat.listen(0, '127.0.0.1', r));
  h = await createHarness('poison', { MANYCHAT_API_BASE_URL: `http://127.0.0.1:${(manychat.address() as AddressInfo).port}` });
});
afterAll(async () => {
  await h?.close();
  await new Promise<void>((r) => manychat?.close(() => r()));
});

it('a poison event is retried with growing backoff, then failed and visible, without blocking the 40 events behind it', async () => {
  const t = await h.makeTenant({}, { manychat: { api_key: 'k-poison' } });
  const attempts = 4;
  const enqueuer = new WebhookEnqueuer(h.conn, attempts);
  const poison = await h.store(t.id, 'manychat', { subscriber_id: 'poison', event_type: 'contact_created' });
  const others: number[] = [];
  for (let i = 0; i < 40; i++) others.push(await h.store(t.id, 'manychat', { subscriber_id: `ok-${i}`, event_type: 'contact_created' }));
  // The worker's log lines, to check what an operator reads about the failure.
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      for (const l of String(chunk).split('\n')) if (l) lines.push(JSON.parse(l));
      done();
    },
  });
  await h.startWorker({}, createLogger({ name: 'worker', level: 'info', destination: sink }));
  await enqueuer.enqueue([poison, ...others].map((logId) => ({ tenantId: t.id, logId })));

  // Watch the poison's attempts (each claim increments them) and when the others are done.
  const claims: number[] = [];
  let othersDoneWhilePoisonPending = false;
  const end = Date.now() + 60_000;
  for (;;) {
    const [p] = await h.owner.sql<{ attempts: number; status: string; error_message: string | null }[]>`
      select attempts, status, error_message from webhook_logs where id = ${poison}`;
    // Between attempts the log reads failed "(attempt n, will retry)"; final is failed without it.
    const final = p?.status === 'failed' && !p.error_message?.includes('will retry');
    while (claims.length < (p?.attempts ?? 0)) claims.push(Date.now());
    if (!othersDoneWhilePoisonPending) {
      const [o] = await h.owner.sql<{ n: number }[]>`
        select count(*)::int as n from webhook_logs where id = any(${others}::int8[]) and status = 'processed'`;
      if (o?.n === others.length && !final) othersDoneWhilePoisonPending = true;
    }
    if (final) break;
    if (Date.now() > end) throw new Error(`poison never failed: ${JSON.stringify(p)}`);
    await new Promise((r) => setTimeout(r, 20));
  }

  expect(othersDoneWhilePoisonPending).toBe(true);
  const [final] = await h.owner.sql<{ status: string; attempts: number; error_message: string }[]>`
    select status, attempts, error_message from webhook_logs where id = ${poison}`;
  expect(final).toMatchObject({ status: 'failed', attempts, error_message: expect.stringMatching(/HTTP 500/) });
  expect(final?.error_message).not.toMatch(/will retry/);
  // Visible in BullMQ too: the job is in the failed set with every attempt made, for a manual replay.
  const queue = enqueuer.queueFor(t.id);
  expect(await settledJobState(await queue.getJob(`log-${poison}`), 'failed')).toBe('failed');
  expect((await queue.getJob(`log-${poison}`))?.attemptsMade).toBe(attempts);
  // Exponential backoff (1 s base): attempt n+1 starts at least 1 s · 2^(n-1) after attempt n (plus the
  // fetch's own retries and any wait behind other jobs of the tenant).
  const gaps = claims.slice(1).map((c, i) => c - (claims[i] as number));
  process.stdout.write(`poison: attempts at +${gaps.map((g) => `${g} ms`).join(', +')}\n`);
  expect(gaps).toHaveLength(attempts - 1);
  for (const [i, gap] of gaps.entries()) expect(gap).toBeGreaterThanOrEqual(1_000 * 2 ** i);
  // The failure is logged with the tenant's slug (what every mcb command takes), the id beside it.
  const failedLines = lines.filter((l) => l.msg === 'webhook job failed' && l.jobId === `log-${poison}`);
  expect(failedLines).toHaveLength(attempts);
  for (const l of failedLines) expect(l).toMatchObject({ tenant: t.slug, tenantId: t.id });
  // Nothing of the poison was written; every other event made its contact.
  const [c] = await h.owner.sql<{ n: number }[]>`select count(*)::int as n from contacts where tenant_id = ${t.id}`;
  expect(c?.n).toBe(40);
  await enqueuer.close();
});
