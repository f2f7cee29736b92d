import { createLogger } from '@mcb/core';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createHarness, type Harness } from '../test/harness';
import { registerStatusMetrics } from './status-metrics';

let h: Harness;
beforeAll(async () => {
  h = await createHarness('smetrics');
});
afterAll(async () => {
  await h?.close();
});

it('reports each integration’s last success and failure, and recent report runs by status', async () => {
  const t = await h.makeTenant();
  await h.owner.sql`update tenant_integrations set last_success_at = '2026-11-30T08:00:00Z', last_error = 'token expired'
    where tenant_id = ${t.id} and provider = 'stripe'`;
  await h.owner.sql`insert into report_runs (tenant_id, kind, period_start, period_end, status) values
    (${t.id}, 'weekly', '2026-11-23', '2026-11-29', 'sent'), (${t.id}, 'weekly', '2026-11-16', '2026-11-22', 'failed')`;
  const registry = new Registry();
  registerStatusMetrics(registry, { admin: h.admin, log: createLogger({ name: 'test', level: 'silent' }) });
  const text = await registry.metrics();
  expect(text).toContain(
    `mcb_integration_last_success_timestamp_seconds{tenant="${t.slug}",provider="stripe"} ${Date.parse('2026-11-30T08:00:00Z') / 1000}`,
  );
  expect(text).toContain(`mcb_integration_failing{tenant="${t.slug}",provider="stripe"} 1`);
  expect(text).toContain(`mcb_integration_last_success_timestamp_seconds{tenant="${t.slug}",provider="ghl"} 0`);
  expect(text).toContain(`mcb_integration_failing{tenant="${t.slug}",provider="ghl"} 0`);
  expect(text).toContain(`mcb_report_runs{tenant="${t.slug}",status="sent"} 1`);
  expect(text).toContain(`mcb_report_runs{tenant="${t.slug}",status="failed"} 1`);
});

it('reports the orphan backlog of each tenant that has one: identifiers waiting and the oldest row’s age', async () => {
  const t = await h.makeTenant();
  await h.owner.sql`insert into orphan_link_backlog (tenant_id, kind, value, created_at) values
    (${t.id}, 'email', 'a@x.io', now() - interval '90 seconds'), (${t.id}, 'phone', '+15550001111', now())`;
  const registry = new Registry();
  registerStatusMetrics(registry, { admin: h.admin, log: createLogger({ name: 'test', level: 'silent' }) });
  const text = await registry.metrics();
  expect(text).toContain(`mcb_orphan_backlog_identifiers{tenant="${t.slug}"} 2`);
  const age = Number(new RegExp(`mcb_orphan_backlog_oldest_seconds\\{tenant="${t.slug}"\\} ([0-9.]+)`).exec(text)?.[1]);
  expect(age).toBeGreaterThanOrEqual(90);
  expect(age).toBeLessThan(3_600);
});
