import type { Logger } from '@mcb/core';
import type { Database } from '@mcb/db';
import { Gauge, type Registry } from 'prom-client';
import { oncePerScrape } from './queue-metrics';

/**
 * Scheduled-work status per tenant, read from Postgres (admin path) when Prometheus scrapes:
 * each integration's last success and whether its last attempt failed (Meta sync marks `meta`), and
 * the weekly report runs of the last 8 days by status, and the orphan backlog. Every worker reports the same
 * rows: take `max`.
 */
export function registerStatusMetrics(registry: Registry, deps: { admin: Database; log: Logger }): void {
  const integrations = oncePerScrape(
    () => deps.admin.sql<{ slug: string; provider: string; last_success: number | null; failing: boolean }[]>`
      select t.slug, i.provider, extract(epoch from i.last_success_at)::float8 as last_success, i.last_error is not null as failing
      from tenant_integrations i join tenants t on t.id = i.tenant_id
      where i.is_active and t.is_active`,
  );
  const lastSuccess = new Gauge({
    name: 'mcb_integration_last_success_timestamp_seconds',
    help: 'When an active integration last succeeded (unix seconds; 0 = never), by tenant slug and provider',
    labelNames: ['tenant', 'provider'] as const,
    registers: [registry],
    async collect() {
      lastSuccess.reset();
      try {
        for (const r of await integrations()) lastSuccess.set({ tenant: r.slug, provider: r.provider }, r.last_success ?? 0);
      } catch (err) {
        deps.log.warn({ err: (err as Error).message }, 'integration status metrics unavailable');
      }
    },
  });
  const failing = new Gauge({
    name: 'mcb_integration_failing',
    help: '1 when an active integration’s last attempt failed (last_error set), by tenant slug and provider',
    labelNames: ['tenant', 'provider'] as const,
    registers: [registry],
    async collect() {
      failing.reset();
      // A failed read is logged once, by mcb_integration_last_success_timestamp_seconds.
      for (const r of await integrations().catch(() => [])) failing.set({ tenant: r.slug, provider: r.provider }, r.failing ? 1 : 0);
    },
  });
  const reports = new Gauge({
    name: 'mcb_report_runs',
    help: 'Weekly report runs created in the last 8 days, by tenant slug and status (pending, sent, failed)',
    labelNames: ['tenant', 'status'] as const,
    registers: [registry],
    async collect() {
      reports.reset();
      try {
        const rows = await deps.admin.sql<{ slug: string; status: string; n: number }[]>`
          select t.slug, r.status, count(*)::int as n from report_runs r join tenants t on t.id = r.tenant_id
          where r.created_at > now() - interval '8 days' group by t.slug, r.status`;
        for (const r of rows) reports.set({ tenant: r.slug, status: r.status }, r.n);
      } catch (err) {
        deps.log.warn({ err: (err as Error).message }, 'report status metrics unavailable');
      }
    },
  });
  // Orphan payments waiting for the tenant's orphans.link job (packages/contacts linkWaitingOrphans): rows
  // that only grow older mean no job is working on them (the reconciler adds one past its minimum age).
  const backlog = oncePerScrape(
    () => deps.admin.sql<{ slug: string; n: number; oldest: number }[]>`
      select t.slug, count(*)::int as n, extract(epoch from now() - min(b.created_at))::float8 as oldest
      from orphan_link_backlog b join tenants t on t.id = b.tenant_id group by t.slug`,
  );
  const backlogSize = new Gauge({
    name: 'mcb_orphan_backlog_identifiers',
    help: 'Identifiers whose orphan payments wait for the tenant’s orphans.link job (orphan_link_backlog rows), by tenant slug',
    labelNames: ['tenant'] as const,
    registers: [registry],
    async collect() {
      backlogSize.reset();
      try {
        for (const r of await backlog()) backlogSize.set({ tenant: r.slug }, r.n);
      } catch (err) {
        deps.log.warn({ err: (err as Error).message }, 'orphan backlog metrics unavailable');
      }
    },
  });
  const backlogAge = new Gauge({
    name: 'mcb_orphan_backlog_oldest_seconds',
    help: 'Age of the oldest orphan_link_backlog row, by tenant slug (the orphans.link job rewrites the rows it keeps)',
    labelNames: ['tenant'] as const,
    registers: [registry],
    async collect() {
      backlogAge.reset();
      // A failed read is logged once, by mcb_orphan_backlog_identifiers.
      for (const r of await backlog().catch(() => [])) backlogAge.set({ tenant: r.slug }, r.oldest);
    },
  });
}
