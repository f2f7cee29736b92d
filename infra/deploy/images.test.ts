import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import dockerignore from '@balena/dockerignore';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { root } from './build';
import { interpolate, lineage, parseDockerfile } from './dockerfile';
import { httpApps } from './http-apps';

// Static checks of the images and the compose stack (no Docker engine runs on this machine).
const dockerfile = parseDockerfile(readFileSync(join(root, 'infra/docker/Dockerfile'), 'utf8'));
const stageNames = dockerfile.map((s) => s.name);
const composeText = readFileSync(join(root, 'docker-compose.yml'), 'utf8');

type Service = {
  image?: string;
  build?: { context: string; dockerfile: string; target?: string };
  command?: string[];
  ports?: string[];
  expose?: string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: unknown };
  deploy?: { replicas?: number };
  environment?: Record<string, string>;
  container_name?: string;
  stop_grace_period?: string;
  restart?: string;
  profiles?: string[];
};
const services = (parse(composeText, { merge: true }) as { services: Record<string, Service> }).services;
const composeEnv = { POSTGRES_PASSWORD: 'p', MCB_ENCRYPTION_KEY: 'k', ADMIN_TOKEN: 't' };

describe('infra/docker/Dockerfile', () => {
  it('caches the dependency layer apart from the source: the store is filled from the lockfile before any source is copied', () => {
    const deps = dockerfile.find((s) => s.name === 'deps')!;
    const copies = deps.instructions.filter((i) => i.op === 'COPY').map((i) => i.args);
    expect(copies).toEqual(['pnpm-lock.yaml pnpm-workspace.yaml ./', 'patches ./patches']);
    // Every patch pnpm-workspace.yaml applies is in what the deps stage copies.
    const workspace = parse(readFileSync(join(root, 'pnpm-workspace.yaml'), 'utf8')) as { patchedDependencies?: Record<string, string> };
    for (const patch of Object.values(workspace.patchedDependencies ?? {})) expect(patch).toMatch(/^patches\//);
    const ops = deps.instructions.map((i) => `${i.op} ${i.args}`);
    expect(ops.findIndex((o) => o.includes('pnpm fetch'))).toBeGreaterThan(ops.findIndex((o) => o.startsWith('COPY')));
    const build = dockerfile.find((s) => s.name === 'build')!;
    expect(build.base).toBe('deps');
    expect(build.instructions.map((i) => i.op)).toEqual(['COPY', 'RUN']);
    expect(build.instructions[1]!.args).toMatch(/pnpm install --offline --frozen-lockfile .*&& pnpm build$/);
  });

  it.each(['receiver', 'worker', 'console', 'cli'])('%s: runtime stage with only its dist, as the non-root node user', (app) => {
    const chain = lineage(dockerfile, app);
    expect(chain.map((s) => s.name)).toEqual([app, 'runtime']);
    expect(chain.at(-1)!.base).toBe(`\${NODE_IMAGE}`);
    const users = chain.flatMap((s) => s.instructions.filter((i) => i.op === 'USER').map((i) => i.args));
    expect(users).toEqual(['node']);
    const copies = chain[0]!.instructions.filter((i) => i.op === 'COPY').map((i) => i.args);
    const expected = [`--from=build /src/apps/${app}/dist /app/apps/${app}/dist`];
    if (app === 'cli') expected.unshift('--from=build /src/drizzle /app/drizzle');
    expect(copies).toEqual(expected);
    // What the app writes (the report outbox) is owned by the user it runs as.
    const runtime = chain.at(-1)!.instructions.map((i) => `${i.op} ${i.args}`);
    expect(runtime).toContain('RUN mkdir -p /app/data/outbox && chown -R node:node /app/data');
    expect(runtime).toContain('ENV REPORT_OUTBOX_DIR=/app/data/outbox');
  });

  it.each(Object.entries(httpApps))(
    '%s: port and health check from the env variable the app reads',
    (app, { portEnv, defaultPort, probe }) => {
      const stage = dockerfile.find((s) => s.name === app)!;
      const ops = stage.instructions.map((i) => `${i.op} ${i.args}`);
      expect(ops).toContain(`ARG ${portEnv}=${defaultPort}`);
      expect(ops).toContain(`ENV ${portEnv}=\${${portEnv}}`);
      expect(ops).toContain(`EXPOSE \${${portEnv}}`);
      const health = stage.instructions.find((i) => i.op === 'HEALTHCHECK')!.args;
      expect(health).toContain(`'http://127.0.0.1:'+process.env.${portEnv}+'${probe.readiness}'`);
      // The app really reads that variable, with that default.
      const envSource = readFileSync(join(root, 'apps', app, 'src/env.ts'), 'utf8');
      expect(envSource).toMatch(new RegExp(`${portEnv}: z\\.coerce\\.number\\(\\)[^\\n]*\\.default\\(${defaultPort}\\)`));
    },
  );
});

describe('.dockerignore', () => {
  const ig = dockerignore({ ignorecase: false }).add(readFileSync(join(root, '.dockerignore'), 'utf8'));

  it('keeps secrets, local state, installs and tests out of the build context', () => {
    for (const path of [
      '.env',
      '.env.production',
      '.mcb/secrets.json',
      'node_modules/hono/package.json',
      'apps/receiver/node_modules/hono/package.json',
      'apps/receiver/dist/main.js',
      'apps/receiver/src/intake/intake.test.ts',
      'apps/receiver/test/harness.ts',
      'packages/db/src/rls.int.test.ts',
      'infra/bench/intake.ts',
      '.git/config',
    ]) {
      expect(ig.ignores(path), path).toBe(true);
    }
  });

  it('keeps what the build needs', () => {
    for (const path of [
      '.env.example',
      'pnpm-lock.yaml',
      'pnpm-workspace.yaml',
      'package.json',
      'apps/receiver/src/main.ts',
      'drizzle/meta/_journal.json',
      'patches/postgres@3.4.9.patch',
    ]) {
      expect(ig.ignores(path), path).toBe(false);
    }
  });
});

describe('docker-compose.yml', () => {
  it('has exactly the services of the stack, each app built from a Dockerfile stage of its own name', () => {
    expect(Object.keys(services).sort()).toEqual(['cli', 'console', 'migrate', 'postgres', 'receiver', 'redis', 'worker']);
    for (const [name, service] of Object.entries(services)) {
      if (!service.build) continue;
      expect(service.build.dockerfile).toBe('infra/docker/Dockerfile');
      expect(stageNames).toContain(service.build.target);
      expect(service.build.target).toBe(name === 'migrate' ? 'cli' : name);
    }
  });

  it('restarts the databases as it restarts the apps (after a reboot the apps came back to no Postgres or Redis)', () => {
    for (const name of ['postgres', 'redis', 'receiver', 'worker', 'console']) expect(services[name]?.restart, name).toBe('unless-stopped');
  });

  it("runs the mcb CLI on demand with the apps' environment (onboarding needed MCB_ENCRYPTION_KEY), never on `up`", () => {
    expect(services.cli?.profiles).toEqual(['tools']);
    expect(services.cli?.restart).toBe('no');
    expect(services.cli?.environment?.MCB_ENCRYPTION_KEY).toBe(services.receiver?.environment?.MCB_ENCRYPTION_KEY);
    expect(services.cli?.environment?.REDIS_URL).toBe('redis://redis:6379');
  });

  it('pins each published port in the environment, so a PORT copied into .env cannot break the mapping or the health check', () => {
    expect(services.receiver?.environment?.PORT).toBe('3000');
    expect(services.receiver?.environment?.METRICS_PORT).toBe('3003');
    expect(services.console?.environment?.CONSOLE_PORT).toBe('3001');
  });

  it('runs postgres 16 and redis 7 with AOF and noeviction, both health-checked', () => {
    expect(services.postgres?.image).toBe('postgres:16');
    expect(services.redis?.image).toBe('redis:7');
    expect(services.redis?.command).toEqual(expect.arrayContaining(['--appendonly', 'yes', '--maxmemory-policy', 'noeviction']));
    expect(services.postgres?.healthcheck).toBeDefined();
    expect(services.redis?.healthcheck).toBeDefined();
  });

  it('migrates once before any app starts', () => {
    expect(services.migrate?.command).toEqual(['db', 'migrate']);
    expect(services.migrate?.depends_on?.postgres?.condition).toBe('service_healthy');
    for (const app of ['receiver', 'worker', 'console']) {
      expect(services[app]?.depends_on?.migrate?.condition).toBe('service_completed_successfully');
      expect(services[app]?.depends_on?.redis?.condition).toBe('service_healthy');
      expect(interpolate(services[app]!.environment!.DATABASE_URL!, composeEnv)).toBe('postgres://mcb:p@postgres:5432/mcb');
      expect(services[app]?.environment?.REDIS_URL).toBe('redis://redis:6379');
      // environment beats env_file: the outbox stays in the folder the image made writable.
      expect(services[app]?.environment?.REPORT_OUTBOX_DIR).toBe('/app/data/outbox');
    }
  });

  it('publishes the console on 127.0.0.1 only, unless CONSOLE_BIND says otherwise', () => {
    expect(services.console?.ports?.map((p) => interpolate(p))).toEqual(['127.0.0.1:3001:3001']);
    expect(services.console?.ports?.map((p) => interpolate(p, { CONSOLE_BIND: '10.0.0.5' }))).toEqual(['10.0.0.5:3001:3001']);
    expect(services.receiver?.ports?.map((p) => interpolate(p))).toEqual(['3000:3000']);
  });

  it("keeps the receiver's metrics listener on the compose network: exposed to Prometheus, never published", () => {
    // Its series name every tenant and its traffic (docs/security.md "Listeners").
    const metricsPort = String(httpApps.receiver.metrics.defaultPort);
    expect(services.receiver?.expose).toEqual([metricsPort]);
    for (const [name, service] of Object.entries(services)) {
      for (const p of service.ports ?? []) expect(interpolate(p).split(':').at(-1), `${name} publishes ${p}`).not.toBe(metricsPort);
    }
  });

  it('lets `--scale worker=N` run N workers, each given time to drain on stop', () => {
    expect(services.worker?.ports).toBeUndefined();
    expect(services.worker?.container_name).toBeUndefined();
    expect(services.worker?.deploy?.replicas).toBe(2);
    const grace = Number(/^(\d+)s$/.exec(services.worker?.stop_grace_period ?? '')?.[1]);
    const workerEnv = readFileSync(join(root, 'apps/worker/src/env.ts'), 'utf8');
    const drainMs = Number(/SHUTDOWN_TIMEOUT_MS: [^\n]*\.default\(([\d_]+)\)/.exec(workerEnv)?.[1]?.replace(/_/g, ''));
    expect(drainMs).toBeGreaterThan(0);
    expect(grace * 1000).toBeGreaterThan(drainMs);
  });

  it('holds no literal secret: passwords, keys and tokens are required references to .env', () => {
    for (const name of ['POSTGRES_PASSWORD', 'MCB_ENCRYPTION_KEY', 'ADMIN_TOKEN']) {
      for (const m of composeText.matchAll(new RegExp(`\\$\\{${name}([^}]*)\\}`, 'g'))) expect(m[1]).toMatch(/^:\?/);
    }
    // Every value of a secret-looking key, and every password inside a URL, is a ${…} reference.
    const secretValues = [...composeText.matchAll(/^\s*([A-Z_]*(?:PASSWORD|SECRET|TOKEN|KEY)[A-Z_]*):\s*(.+)$/gm)];
    expect(secretValues.length).toBeGreaterThanOrEqual(3);
    for (const [, key, value] of secretValues) expect(value, key).toMatch(/^\$\{[A-Z_]+:\?[^}]+\}$/);
    for (const [, password] of composeText.matchAll(/:\/\/[^:/\s]+:([^@\s]+)@/g)) expect(password).toMatch(/^\$\{[A-Z_]+:\?[^}]+\}$/);
    expect(() => interpolate(services.console!.environment!.ADMIN_TOKEN!)).toThrow(/ADMIN_TOKEN is required/);
  });
});
