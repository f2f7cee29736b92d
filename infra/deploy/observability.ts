import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { root } from './build';
import { k8sDir, renderKustomization } from './kustomize';

/** Every PromQL expression MCB ships: the Grafana dashboard's, the alert rules' and the worker autoscaler's. */
export function shippedQueries(): Array<{ where: string; expr: string }> {
  const dashboard = JSON.parse(readFileSync(join(root, 'infra/observability/grafana-dashboard.json'), 'utf8')) as {
    panels: Array<{ title: string; targets: Array<{ expr: string }> }>;
  };
  const alerts = parse(readFileSync(join(root, 'infra/observability/alerts.yml'), 'utf8')) as {
    groups: Array<{ rules: Array<{ alert: string; expr: string }> }>;
  };
  const scaled = renderKustomization(join(k8sDir, 'base')).filter((o) => o.kind === 'ScaledObject');
  return [
    ...dashboard.panels.flatMap((p) => p.targets.map((t) => ({ where: `dashboard: ${p.title}`, expr: t.expr }))),
    ...alerts.groups.flatMap((g) => g.rules.map((r) => ({ where: `alert: ${r.alert}`, expr: r.expr }))),
    ...scaled.flatMap((o) =>
      (o.spec.triggers as Array<{ metadata: { query?: string } }>).map((t) => ({
        where: `keda: ${o.metadata.name}`,
        expr: t.metadata.query ?? '',
      })),
    ),
  ];
}

/** The metric families a PromQL expression reads (`mcb_…`, histogram suffixes removed). */
export function metricFamilies(expr: string): string[] {
  return [...new Set([...expr.matchAll(/\b(mcb_[a-z0-9_]+)/g)].map((m) => m[1]!.replace(/_(bucket|sum|count)$/, '')))];
}
