import { randomUUID } from 'node:crypto';
import type { Logger } from '@mcb/core';
import { createDatabase, type Database, runMigrations } from '@mcb/db';
import { createQueueConnection, WebhookEnqueuer } from '@mcb/queue';
import { addTenant, createTenantContextLoader, generateKey, parseKeyring, setIntegration } from '@mcb/tenancy';
import { type OwnPostgres, pollUntil, startOwnPostgres, testEnv } from '@mcb/testing';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createReceiver, type Receiver } from '../src/app';

// SPEC §3 / §10.5: Postgres down → every request answered 503 within the request deadline (never
// hung, never 2xx unstored); once it is back, intake recovers without a restart and a resend of
// every refused delivery stores each exactly once. The test stops its OWN Postgres cluster.

const silent = pino({ level: 'silent' }) as unknown as Logger;
const secret = `sh-${randomUUID()}`;
let pg: OwnPostgres;
let app: Database;
let admin: Database;
let receiver: Receiver;
let slug: string;
let tenantId: string;
const { redisUrl, redisPrefix } = testEnv();
const queue = createQueueConnection({ kind: 'redis', url: redisUrl }, `${redisPrefix}-outage`);
const enqueuer = new WebhookEnqueuer(queue);

beforeAll(async () => {
  pg = await startOwnPostgres();
  await runMigrations(pg.url);
  // As in apps/receiver/src/main.ts: bounded connects and statements on the request path.
  const limits = { connectTimeoutSeconds: 2, statementTimeoutMs: 10_000 };
  app = createDatabase({ url: pg.url, role: 'app', max: 10, ...limits });
  admin = createDatabase({ url: pg.url, role: 'admin', max: 3, ...limits });
  const keyring = parseKeyring(generateKey());
  slug = `outage-${randomUUID().slice(0, 8)}`;
  tenantId = (await addTenant(admin, { slug, name: 'Outage' })).id;
  await setIntegration(admin, keyring, { slug, provider: 'manychat', webhookSecret: secret });
  const tenants = createTenantContextLoader({ admin, keyring, listen: false });
  receiver = createReceiver({ database: app, queue, log: silent, tenants, enqueuer });
}, 60_000);

afterAll(async () => {
  await receiver?.close().catch(() => {});
  await Promise.all([app?.close(), admin?.close()]);
  await enqueuer.close();
  await queue.close();
  await pg?.close();
});

type Answer = { body: string; status: number; ms: number; id?: number; phase: 'before' | 'down' | 'after' };

/** One delivery, bounded by 15 s so a hung request shows up as status 0, never as a stuck test. */
async function deliver(body: string, phase: Answer['phase']): Promise<Answer> {
  const t0 = performance.now();
  const res = await Promise.race([
    Promise.resolve(
      receiver.app.request(`/api/webhooks/${slug}/manychat`, { method: 'POST', body, headers: { 'x-webhook-secret': secret } }),
    ),
    new Promise<null>((r) => setTimeout(() => r(null), 15_000).unref()),
  ]);
  const ms = performance.now() - t0;
  if (!res) return { body, status: 0, ms, phase };
  const json = (await res.json()) as { id?: number };
  return { body, status: res.status, ms, id: json.id, phase };
}

describe('Postgres outage during intake', () => {
  it('answers 503 fast while it is down, never 2xx unstored, recovers without a restart; a resend stores every event once', async () => {
    let phase: Answer['phase'] = 'before';
    let running = true;
    const answers: Answer[] = [];
    const loops = Array.from({ length: 8 }, async () => {
      while (running) {
        const body = JSON.stringify({ subscriber: { id: randomUUID(), first_name: 'Out' }, event_type: 'contact_created' });
        answers.push(await deliver(body, phase));
      }
    });
    await new Promise((r) => setTimeout(r, 1_000));
    phase = 'down';
    await pg.stop('fast');
    await new Promise((r) => setTimeout(r, 4_000));
    await pg.start();
    phase = 'after';
    // Recovery without a restart: keep sending until 200s come back (bounded).
    await pollUntil(
      () => answers.filter((a) => a.phase === 'after' && a.status === 200).length,
      (oks) => oks >= 20,
      { timeoutMs: 30_000, intervalMs: 100 },
    );
    running = false;
    await Promise.all(loops);

    const down = answers.filter((a) => a.phase === 'down');
    const slowest503 = Math.max(...down.filter((a) => a.status === 503).map((a) => a.ms));
    console.log(
      `outage: ${answers.length} requests; while down ${down.length} answered (${down.filter((a) => a.status === 503).length} × 503), slowest 503 ${slowest503.toFixed(0)} ms`,
    );
    // Never hung, never anything but 200 or 503.
    expect(answers.filter((a) => a.status === 0)).toEqual([]);
    expect([...new Set(answers.map((a) => a.status))].sort()).toEqual([200, 503]);
    expect(down.filter((a) => a.status === 503).length).toBeGreaterThan(0);
    // A deadline, not a speed figure: 503 within the 1.5 s request deadline plus scheduling slack.
    expect(slowest503).toBeLessThan(3_000);
    expect(answers.filter((a) => a.phase === 'after' && a.status === 200).length).toBeGreaterThanOrEqual(20);

    // Every 200 is stored.
    const stored = await admin.sql<{ id: number }[]>`select id from webhook_logs where tenant_id = ${tenantId}`;
    const storedIds = new Set(stored.map((r) => r.id));
    const acked = answers.filter((a) => a.status === 200);
    expect(acked.filter((a) => a.id === undefined || !storedIds.has(a.id))).toEqual([]);

    // The provider resends what got 503: each is then stored exactly once (some may already be).
    const refused = answers.filter((a) => a.status === 503);
    const resent = await Promise.all(refused.map((a) => deliver(a.body, 'after')));
    expect(resent.filter((a) => a.status !== 200)).toEqual([]);
    const [count] = await admin.sql<{ n: number; keys: number }[]>`
      select count(*)::int as n, count(distinct dedupe_key)::int as keys from webhook_logs where tenant_id = ${tenantId}`;
    expect(count?.n).toBe(answers.length);
    expect(count?.keys).toBe(answers.length);
  }, 120_000);
});
