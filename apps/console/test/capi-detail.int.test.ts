import { createLogger } from '@mcb/core';
import { createDatabase } from '@mcb/db';
import { createQueueConnection } from '@mcb/queue';
import { testEnv } from '@mcb/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { createConsoleApp } from '../src/app';
import { createTenant, insertLog } from './factories';

// The console shows, per webhook log, what was sent to Meta's Conversions API for it (issue 17),
// and the stats count conversions sent.

const { databaseUrl, redisUrl, redisPrefix } = testEnv();
const token = 'console-capi-token-0123456789';
const admin = createDatabase({ url: databaseUrl, role: 'admin', max: 2 });
const app = createDatabase({ url: databaseUrl, role: 'app', max: 2 });
const queue = createQueueConnection({ kind: 'redis', url: redisUrl }, `${redisPrefix}-console-capi`);
const consoleApp = createConsoleApp({
  admin,
  app,
  queue,
  log: createLogger({ name: 'console-capi-test', level: 'silent' }),
  adminToken: token,
  signInMaxFailures: 10_000,
});
const bearer = { authorization: `Bearer ${token}` };
const hashedEmail = 'ceea7b686c43f044fffaab488a94d05dca6d2a7fb3b79b7c0adfb3e43574f7bf';

afterAll(async () => {
  await consoleApp.close();
  await queue.close();
  await Promise.all([admin.close(), app.close()]);
});

describe('console: Conversions API sends of a webhook log', () => {
  it('the log detail (API and page) lists each event sent to Meta with its status, Meta’s answer and the hashed payload', async () => {
    const tenant = await createTenant(admin);
    const logId = await insertLog(admin, tenant.id, { payload: { subscriber: { id: 'capi-detail' } }, status: 'processed' });
    const [contact] = await admin.sql<{ id: string }[]>`insert into contacts (tenant_id) values (${tenant.id}) returning id`;
    const [event] = await admin.sql<{ id: string }[]>`
      insert into funnel_events (tenant_id, contact_id, event_type, occurred_at, source, source_event_id, webhook_log_id)
      values (${tenant.id}, ${contact!.id}, 'contact_subscribed', now(), 'manychat', 'capi-detail-key', ${logId}) returning id`;
    const payload = { event_name: 'Lead', event_id: 'capi-detail-key', action_source: 'chat', user_data: { em: [hashedEmail] } };
    await admin.sql`
      insert into capi_sends (tenant_id, funnel_event_id, contact_id, webhook_log_id, event_name, event_id, event_time, status,
                              payload, events_received, fbtrace_id, sent_at)
      values (${tenant.id}, ${event!.id}, ${contact!.id}, ${logId}, 'Lead', 'capi-detail-key', now(), 'sent',
              ${admin.sql.json(payload)}, 1, 'AFakeTraceDetail', now())`;

    const res = await consoleApp.app.request(`/admin/api/logs/${logId}`, { headers: bearer });
    expect(res.status).toBe(200);
    const { log } = (await res.json()) as { log: { capiSends: Array<Record<string, unknown>> } };
    expect(log.capiSends).toEqual([
      expect.objectContaining({
        event_name: 'Lead',
        event_id: 'capi-detail-key',
        status: 'sent',
        events_received: 1,
        fbtrace_id: 'AFakeTraceDetail',
        payload,
      }),
    ]);

    const page = await consoleApp.app.request(`/admin/logs/${logId}`, { headers: bearer });
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('Sent to Meta (Conversions API)');
    expect(html).toContain('1 event: Lead sent');
    expect(html).toContain('AFakeTraceDetail');
    expect(html).toContain(hashedEmail);

    const stats = await consoleApp.app.request(`/admin/api/stats?tenant=${tenant.slug}&since=7d`, { headers: bearer });
    const body = (await stats.json()) as { tenants: Array<{ capi: Record<string, number> }> };
    expect(body.tenants[0]?.capi).toEqual({ sent: 1, skipped: 0, failed: 0, pending: 0 });
  });
});
