/**
 * The long-running apps as deployments see them: the env variable that sets the HTTP port (and its
 * default) and the probe routes. Manifests, images and their tests are checked against this table,
 * and the scale-out test asks the running apps for each route.
 */
export const httpApps = {
  receiver: { portEnv: 'PORT', defaultPort: 3000, probe: { liveness: '/healthz', readiness: '/readyz' } },
  worker: { portEnv: 'WORKER_HEALTH_PORT', defaultPort: 3002, probe: { liveness: '/healthz', readiness: '/readyz' } },
  console: { portEnv: 'CONSOLE_PORT', defaultPort: 3001, probe: { liveness: '/healthz', readiness: '/readyz' } },
} as const;

export type HttpApp = keyof typeof httpApps;
