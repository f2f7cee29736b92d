import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { join, relative } from 'node:path';
import dockerignore from '@balena/dockerignore';
import { testEnv } from '@mcb/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apps, buildApp, root } from './build';
import { exited, freePort, untilAnswers } from './processes';

// The production build: what `node apps/<app>/dist/main.js` runs, with no TypeScript and no node_modules.
const built = new Map<string, Awaited<ReturnType<typeof buildApp>>>();
const children: ReturnType<typeof spawn>[] = [];

beforeAll(async () => {
  for (const target of apps) built.set(target.app, await buildApp(target));
}, 120_000);

afterAll(() => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

describe('pnpm build', () => {
  it.each(apps.map((a) => a.app))('%s is one self-contained ES module (and its lazy modules): it imports only Node built-ins', (app) => {
    const { metafile } = built.get(app)!;
    // Every output file (the first key of `outputs` may be a source map, which imports nothing); a
    // relative import is a lazy module built beside main.js (build.ts `lazyModules`) and must be there.
    const dist = join(root, 'apps', app, 'dist');
    const imports = Object.values(metafile.outputs).flatMap((output) => output.imports.filter((i) => i.external).map((i) => i.path));
    const lazy = imports.filter((path) => path.startsWith('./'));
    expect(lazy.filter((path) => !existsSync(join(dist, path)))).toEqual([]);
    expect(lazy).toEqual(['receiver', 'worker'].includes(app) ? ['./telemetry-sdk.js'] : []);
    const external = imports.filter((path) => !path.startsWith('./'));
    expect(external.length).toBeGreaterThan(0);
    // Optional modules required only on a path production never takes: msgpackr-extract (msgpackr's
    // native speed-up, in a try; plain JS without it), pg-native (only for `pg.native`) and
    // @valkey/valkey-glide (only for BullMQ's Valkey GLIDE client).
    const optional = new Set(['msgpackr-extract', 'pg-native', '@valkey/valkey-glide']);
    expect(external.filter((path) => !isBuiltin(path) && !optional.has(path))).toEqual([]);
    expect(existsSync(join(root, 'apps', app, 'dist', 'main.js'))).toBe(true);
  });

  it.each(apps.map((a) => a.app))('%s: every source file it bundles is in the Docker build context (.dockerignore)', (app) => {
    const ig = dockerignore().add(readFileSync(join(root, '.dockerignore'), 'utf8'));
    const sources = Object.keys(built.get(app)!.metafile.inputs)
      .filter((path) => !path.includes('node_modules/'))
      .map((path) => relative(root, join(root, 'apps', app, path)));
    expect(sources.length).toBeGreaterThan(10);
    expect(sources.filter((path) => ig.ignores(path))).toEqual([]);
  });

  it('the console carries the Bull Board UI it serves from disk', () => {
    expect(existsSync(join(root, 'apps/console/dist/node_modules/@bull-board/ui/dist/index.ejs'))).toBe(true);
  });

  it('the compiled CLI finds the migrations and the compiled receiver answers /readyz, serves /metrics on METRICS_PORT only, then stops on SIGTERM', async () => {
    const { databaseUrl, redisUrl, redisPrefix } = testEnv();
    const migrate = spawnSync(process.execPath, ['apps/cli/dist/main.js', 'db', 'migrate'], {
      cwd: root,
      env: { PATH: process.env.PATH ?? '', DATABASE_URL: databaseUrl },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(migrate.stderr).toBe('');
    expect(migrate.status).toBe(0);

    const port = await freePort();
    const metricsPort = await freePort();
    const receiver = spawn(process.execPath, ['apps/receiver/dist/main.js'], {
      cwd: root,
      env: {
        PATH: process.env.PATH ?? '',
        DATABASE_URL: databaseUrl,
        REDIS_URL: redisUrl,
        QUEUE_PREFIX: `${redisPrefix}-build`,
        MCB_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
        PORT: String(port),
        METRICS_PORT: String(metricsPort),
        HOST: '127.0.0.1',
        LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    children.push(receiver);
    const ready = await untilAnswers(`http://127.0.0.1:${port}/readyz`, 30_000);
    expect(ready).toEqual({ ok: true, postgres: 'ok', queue: 'ok' });
    const metrics = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toContain('# TYPE mcb_receiver_requests_total');
    // Not on the public port: the series name every tenant and its traffic.
    const onPublic = await fetch(`http://127.0.0.1:${port}/metrics`);
    expect(onPublic.status).toBe(404);
    expect(((await onPublic.json()) as { error: { code: string } }).error.code).toBe('not_found');
    const gone = exited(receiver);
    receiver.kill('SIGTERM');
    expect(await gone).toEqual({ code: 0, signal: null });
  });
});
