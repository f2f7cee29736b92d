import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ScaledObject } from '@kubernetes-models/keda/keda.sh/v1alpha1';
import { Deployment } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { Job } from 'kubernetes-models/batch/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { ConfigMap, Namespace, Service } from 'kubernetes-models/v1';
import { describe, expect, it } from 'vitest';
import { root } from './build';
import { productionNodeArgs } from './dockerfile';
import { httpApps } from './http-apps';
import { type K8sObject, k8sDir, renderKustomization } from './kustomize';

// Each kind the manifests may hold, validated against its Kubernetes (or KEDA) JSON schema.
const models: Record<string, new (data: never) => { validate(): void }> = {
  'v1/ConfigMap': ConfigMap,
  'v1/Namespace': Namespace,
  'v1/Service': Service,
  'apps/v1/Deployment': Deployment,
  'batch/v1/Job': Job,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'keda.sh/v1alpha1/ScaledObject': ScaledObject,
};

const base = renderKustomization(join(k8sDir, 'base'));
const overlay = renderKustomization(join(k8sDir, 'overlays/example'));
const find = (objects: K8sObject[], kind: string, name: string) => {
  const o = objects.find((x) => x.kind === kind && x.metadata.name === name);
  if (!o) throw new Error(`no ${kind} ${name}`);
  return o;
};
// biome-ignore lint/suspicious/noExplicitAny: container specs are checked field by field below
const container = (o: K8sObject): any => o.spec.template.spec.containers[0];
const envValue = (objects: K8sObject[], app: string, name: string): string | undefined => {
  const c = container(find(objects, 'Deployment', `mcb-${app}`));
  const own = c.env?.find((e: { name: string }) => e.name === name)?.value;
  return own ?? find(objects, 'ConfigMap', 'mcb-config').data?.[name];
};

describe.each([
  ['base', base],
  ['overlays/example', overlay],
])('infra/k8s/%s', (_, objects) => {
  it('every object validates against its schema', () => {
    expect(objects.length).toBeGreaterThanOrEqual(12);
    for (const o of objects) {
      const Model = models[`${o.apiVersion}/${o.kind}`];
      expect(Model, `${o.apiVersion} ${o.kind} has no schema in this test`).toBeDefined();
      expect(() => new Model!(o as never).validate(), `${o.kind} ${o.metadata.name}`).not.toThrow();
    }
  });

  it.each(Object.entries(httpApps))('%s: probes on /healthz and /readyz at the port the app listens on', (app, { portEnv, probe }) => {
    const c = container(find(objects, 'Deployment', `mcb-${app}`));
    const [port] = c.ports;
    expect(Number(envValue(objects, app, portEnv))).toBe(port.containerPort);
    expect(c.livenessProbe.httpGet).toEqual({ path: probe.liveness, port: port.name });
    expect(c.readinessProbe.httpGet).toEqual({ path: probe.readiness, port: port.name });
    expect(c.resources.requests).toBeDefined();
    expect(c.resources.limits.memory).toBeDefined();
    expect(c.securityContext.readOnlyRootFilesystem).toBe(true);
  });

  it.each(Object.entries(httpApps).filter(([, a]) => a.metrics))(
    '%s: Prometheus scrapes the named port `metrics`, where the app serves /metrics; the Service exposes only http',
    (app, { metrics }) => {
      const d = find(objects, 'Deployment', `mcb-${app}`);
      const ports = container(d).ports as Array<{ name: string; containerPort: number }>;
      const port = ports.find((p) => p.name === 'metrics');
      expect(port, `${app}: a container port named metrics`).toBeDefined();
      expect(Number(envValue(objects, app, metrics!.portEnv))).toBe(port!.containerPort);
      expect(d.spec.template.metadata.annotations).toMatchObject({
        'prometheus.io/scrape': 'true',
        'prometheus.io/port': String(port!.containerPort),
        'prometheus.io/path': '/metrics',
      });
      const service = objects.find((o) => o.kind === 'Service' && o.metadata.name === `mcb-${app}`);
      // The receiver's metrics name every tenant and its traffic: its Service (behind the ingress) carries http only.
      if (app === 'receiver') expect(service!.spec.ports.map((p: { targetPort: string }) => p.targetPort)).toEqual(['http']);
      for (const p of service?.spec.ports ?? []) expect([p.targetPort, p.port], `${app} Service`).not.toContain(port!.containerPort);
    },
  );

  it.each(Object.keys(httpApps))(
    '%s: the image caps the V8 heap at most 3/4 of the memory limit (the rest: code, buffers, young space)',
    (app) => {
      const limit = container(find(objects, 'Deployment', `mcb-${app}`)).resources.limits.memory as string;
      const limitMiB = Number(/^(\d+)Mi$/.exec(limit)?.[1] ?? /^(\d+)Gi$/.exec(limit)?.[1]) * (limit.endsWith('Gi') ? 1024 : 1);
      const flag = productionNodeArgs(app).find((a) => a.startsWith('--max-old-space-size='));
      expect(flag, `${app}: the Dockerfile CMD sets --max-old-space-size`).toBeDefined();
      const heapMiB = Number(flag?.split('=')[1]);
      expect(heapMiB).toBeGreaterThanOrEqual(128);
      expect(heapMiB).toBeLessThanOrEqual(limitMiB * 0.75);
    },
  );

  it.each(Object.keys(httpApps))('%s: termination grace longer than its SHUTDOWN_TIMEOUT_MS drain', (app) => {
    const d = find(objects, 'Deployment', `mcb-${app}`);
    const drainMs = Number(envValue(objects, app, 'SHUTDOWN_TIMEOUT_MS'));
    expect(drainMs).toBeGreaterThan(0);
    const preStopMs = (container(d).lifecycle?.preStop?.sleep?.seconds ?? 0) * 1000;
    expect(d.spec.template.spec.terminationGracePeriodSeconds * 1000).toBeGreaterThan(drainMs + preStopMs);
  });

  it('a PodDisruptionBudget for each app, selecting its pods', () => {
    for (const app of Object.keys(httpApps)) {
      const pdb = find(objects, 'PodDisruptionBudget', `mcb-${app}`);
      const labels = find(objects, 'Deployment', `mcb-${app}`).spec.template.metadata.labels;
      for (const [k, v] of Object.entries(pdb.spec.selector.matchLabels)) expect(labels[k]).toBe(v);
    }
  });

  it('receivers scale on CPU, workers on queue depth (KEDA, on the metric the workers export)', () => {
    const hpa = find(objects, 'HorizontalPodAutoscaler', 'mcb-receiver');
    expect(hpa.spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'mcb-receiver' });
    expect(hpa.spec.metrics[0].resource.name).toBe('cpu');
    const scaled = find(objects, 'ScaledObject', 'mcb-worker');
    expect(scaled.spec.scaleTargetRef.name).toBe('mcb-worker');
    const [trigger] = scaled.spec.triggers;
    expect(trigger.type).toBe('prometheus');
    const metric = /\b(mcb_[a-z_]+)\{/.exec(trigger.metadata.query)?.[1];
    expect(metric).toBe('mcb_queue_jobs');
    expect(readFileSync(join(root, 'apps/worker/src/queue-metrics.ts'), 'utf8')).toContain(`'${metric}'`);
  });

  it('migrations run as their own Job with the CLI image', () => {
    const job = find(objects, 'Job', 'mcb-migrate');
    expect(job.spec.template.spec.containers[0].args).toEqual(['db', 'migrate']);
    expect(job.spec.template.spec.restartPolicy).toBe('Never');
  });

  it('holds secrets only by reference: no Secret object, no literal secret value', () => {
    expect(objects.filter((o) => o.kind === 'Secret')).toEqual([]);
    const secretName = /PASSWORD|SECRET|TOKEN|KEY|DATABASE_URL|REDIS_URL/;
    for (const o of objects) {
      for (const c of o.spec?.template?.spec?.containers ?? []) {
        for (const e of c.env ?? []) {
          if (secretName.test(e.name)) expect(e.valueFrom?.secretKeyRef?.name, `${o.metadata.name} ${e.name}`).toBe('mcb-secrets');
        }
        for (const from of c.envFrom ?? []) expect(from.secretRef, `${o.metadata.name} envFrom`).toBeUndefined();
      }
      if (o.kind === 'ConfigMap') for (const key of Object.keys(o.data ?? {})) expect(key).not.toMatch(secretName);
    }
    const text = JSON.stringify(objects);
    expect(text).not.toMatch(/:\/\/[^/"@\s]+:[^/"@\s]+@/);
  });
});

describe('infra/k8s/overlays/example', () => {
  it('puts everything in its namespace, on its registry, with its replica counts', () => {
    for (const o of overlay.filter((x) => x.kind !== 'Namespace')) expect(o.metadata.namespace, o.metadata.name).toBe('mcb');
    expect(container(find(overlay, 'Deployment', 'mcb-worker')).image).toBe('registry.example.com/mcb/worker:1.0.0');
    expect(find(overlay, 'Job', 'mcb-migrate').spec.template.spec.containers[0].image).toBe('registry.example.com/mcb/cli:1.0.0');
    expect(find(overlay, 'Deployment', 'mcb-worker').spec.replicas).toBe(4);
    expect(find(base, 'Deployment', 'mcb-worker').spec.replicas).toBe(2);
  });
});
