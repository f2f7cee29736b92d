/**
 * The long-running apps as deployments see them: the env variable that sets the HTTP port (and its
 * default), the probe routes, and where `/metrics` is served (the receiver: a port of its own, never
 * the public one; the worker: its health port; the console: none). Manifests, images and their tests
 * are checked against this table, and the scale-out test asks the running apps for each route.
 */
export const httpApps = {
  receiver: {
    portEnv: 'PORT',
    defaultPort: 3000,
    probe: { liveness: '/healthz', readiness: '/readyz' },
    metrics: { portEnv: 'METRICS_PORT', defaultPort: 3003 },
  },
  worker: {
    portEnv: 'WORKER_HEALTH_PORT',
    defaultPort: 3002,
    probe: { liveness: '/healthz', readiness: '/readyz' },
    metrics: { portEnv: 'WORKER_HEALTH_PORT', defaultPort: 3002 },
  },
  console: { portEnv: 'CONSOLE_PORT', defaultPort: 3001, probe: { liveness: '/healthz', readiness: '/readyz' }, metrics: null },
} as const;

export type HttpApp = keyof typeof httpApps;
