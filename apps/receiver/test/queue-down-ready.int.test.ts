import { randomUUID } from 'node:crypto';
import type { Logger } from '@mcb/core';
import { createDatabase, type Database } from '@mcb/db';
import { createQueueConnection, WebhookEnqueuer } from '@mcb/queue';
import { addTenant, createTenantContextLoader, generateKey, parseKeyring, setIntegration } from '@mcb/tenancy';
import { freeLoopbackPort, testEnv } from '@mcb/testing';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createReceiver, type Receiver } from '../src/app';

// SPEC §10: with the queue down, intake goes on (rows are committed, the reconciler enqueues them once
// it is back). The receiver's /readyz is what the Kubernetes readiness probe and the image's HEALTHCHECK
// ask, so it must stay ready then — it answered 503 and a probe took every receiver out of service.
// Nothing listens on this test's Redis port.

const silent = pino({ level: 'silent' }) as unknown as Logger;
const secret = `qd-${randomUUID()}`;
let app: Database;
let admin: Database;
let receiver: Receiver;
let slug: string;
let closeQueue: () => Promise<void>;

beforeAll(async () => {
  const { databaseUrl, redisPrefix } = testEnv();
  app = createDatabase({ url: databaseUrl, role: 'app', max: 4 });
  admin = createDatabase({ url: databaseUrl, role: 'admin', max: 2 });
  const keyring = parseKeyring(generateKey());
  slug = `qdown-${randomUUID().slice(0, 8)}`;
  await addTenant(admin, { slug, name: 'Queue down' });
  await setIntegration(admin, keyring, { slug, provider: 'manychat', webhookSecret: secret });
  const queue = createQueueConnection({ kind: 'redis', url: `redis://127.0.0.1:${await freeLoopbackPort()}` }, `${redisPrefix}-qdown`, {
    log: silent,
  });
  const enqueuer = new WebhookEnqueuer(queue);
  closeQueue = async () => {
    await enqueuer.close().catch(() => {});
    await queue.close().catch(() => {});
  };
  const tenants = createTenantContextLoader({ admin, keyring, listen: false });
  receiver = createReceiver({ database: app, queue, log: silent, tenants, enqueuer });
});

afterAll(async () => {
  await receiver?.close().catch(() => {});
  await closeQueue?.();
  await Promise.all([app?.close(), admin?.close()]);
});

describe('receiver with the queue down', () => {
  it('stays ready (200, queue reported down) and keeps committing webhooks', async () => {
    const ready = await receiver.app.request('/readyz');
    expect(await ready.json()).toEqual({ ok: true, postgres: 'ok', queue: 'down' });
    expect(ready.status).toBe(200);
    const body = JSON.stringify({ subscriber_id: `qd-${randomUUID()}`, event_type: 'contact_created', first_name: 'Ana' });
    const res = await receiver.app.request(`/api/webhooks/${slug}/manychat`, {
      method: 'POST',
      body,
      headers: { 'x-webhook-secret': secret, 'content-type': 'application/json' },
    });
    expect(res.status).toBe(200);
    const { id } = (await res.json()) as { id: number };
    const [row] = await admin.sql<{ status: string }[]>`select status from webhook_logs where id = ${id}`;
    expect(row?.status).toBe('received');
  });
});
