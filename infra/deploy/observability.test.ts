import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { root } from './build';
import { httpApps } from './http-apps';
import { metricFamilies, shippedQueries } from './observability';

// Whether each metric exists is checked on running apps by scale-out.int.test.ts.
describe('infra/observability', () => {
  const prometheus = parse(readFileSync(join(root, 'infra/observability/prometheus.yml'), 'utf8')) as {
    rule_files: string[];
    scrape_configs: Array<{ job_name: string; dns_sd_configs?: Array<{ names: string[]; port: number }> }>;
  };

  it('scrapes pods by their prometheus.io annotations and compose services at the ports the apps serve /metrics on', () => {
    expect(prometheus.scrape_configs.map((c) => c.job_name)).toEqual(['mcb-kubernetes', 'mcb-compose']);
    const compose = prometheus.scrape_configs[1]!.dns_sd_configs!;
    expect(compose.map((c) => [c.names[0], c.port])).toEqual([
      ['receiver', httpApps.receiver.metrics.defaultPort],
      ['worker', httpApps.worker.metrics.defaultPort],
    ]);
    expect(prometheus.rule_files).toEqual(['alerts.yml']);
  });

  it('every shipped query reads MCB metrics, and the dashboard covers intake, queues, failures, reconciler, Meta and reports', () => {
    const queries = shippedQueries();
    expect(queries.length).toBeGreaterThanOrEqual(15);
    for (const q of queries) expect(metricFamilies(q.expr).length, q.where).toBeGreaterThan(0);
    const used = new Set(queries.flatMap((q) => metricFamilies(q.expr)));
    for (const family of [
      'mcb_receiver_requests_total',
      'mcb_receiver_request_duration_seconds',
      'mcb_queue_jobs',
      'mcb_queue_oldest_waiting_seconds',
      'mcb_worker_webhook_jobs_total',
      'mcb_worker_reconciled_total',
      'mcb_integration_last_success_timestamp_seconds',
      'mcb_report_runs',
    ]) {
      expect(used.has(family), family).toBe(true);
    }
  });

  it('the dashboard is importable: unique panel ids, a Prometheus datasource variable every panel uses', () => {
    const dashboard = JSON.parse(readFileSync(join(root, 'infra/observability/grafana-dashboard.json'), 'utf8'));
    const ids = dashboard.panels.map((p: { id: number }) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(dashboard.templating.list[0]).toMatchObject({ name: 'datasource', type: 'datasource', query: 'prometheus' });
    for (const p of dashboard.panels) expect(p.datasource).toEqual({ type: 'prometheus', uid: `\${datasource}` });
  });
});
