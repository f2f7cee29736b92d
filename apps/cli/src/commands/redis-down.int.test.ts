import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { createDatabase } from '@mcb/db';
import { freeLoopbackPort, testEnv } from '@mcb/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mcb } from '../../test/run-cli';

// `mcb replay` and `mcb queues` with Redis down (nothing listens at REDIS_URL): every Redis call of the
// CLI is bounded, so they finish within a few seconds instead of waiting (and warning every 10 s) for a
// Redis that never comes. SPEC §8: errors are one clear line and a non-zero exit.

const { databaseUrl } = testEnv();
const admin = createDatabase({ url: databaseUrl, role: 'admin', max: 2 });
let port: number;
let redisUrl: string;
let tenant: { id: string; slug: string };
let seq = 0;

const startHint =
  'Start the system with `npm start` (then run `npm run mcb -- …`, which uses its database; if npm start was given MCB_DATA_DIR, give mcb the same)';
const redisLine = () =>
  `Cannot reach Redis at redis://:****@127.0.0.1:${port} (connect ECONNREFUSED 127.0.0.1:${port}). ${startHint}, or set REDIS_URL to a running Redis.\n`;

beforeAll(async () => {
  port = await freeLoopbackPort();
  redisUrl = `redis://:s3cret-redis@127.0.0.1:${port}`;
  process.env.DATABASE_URL = databaseUrl;
  process.env.REDIS_URL = redisUrl;
  process.env.QUEUE_BACKEND = 'redis';
  const slug = `rdown-${randomBytes(4).toString('hex')}`;
  const [row] = await admin.sql<{ id: string }[]>`insert into tenants (slug, name) values (${slug}, 'Redis Down') returning id`;
  tenant = { id: row!.id, slug };
});

afterAll(async () => {
  await admin.close();
});

async function insertFailed(n: number): Promise<number[]> {
  const ids: number[] = [];
  for (let i = 0; i < n; i++) {
    seq += 1;
    const [r] = await admin.sql<{ id: number }[]>`
      insert into webhook_logs (tenant_id, source, event_type, dedupe_key, payload, status, error_message, attempts, received_at)
      values (${tenant.id}, 'manychat', 'contact_created', ${`rdown_${seq}`}, ${admin.sql.json({ subscriber: { id: `mc_${seq}` } })},
              'failed', 'boom', 8, ${new Date(Date.now() - 600_000 + seq * 10)})
      returning id`;
    ids.push(r!.id);
  }
  return ids;
}

const statuses = (ids: number[]) =>
  admin.sql<{ status: string; error_message: string | null }[]>`
    select status, error_message from webhook_logs where id = any(${ids}::bigint[]) order by id`;

async function timed<T>(work: () => Promise<T>): Promise<{ result: T; ms: number }> {
  const started = Date.now();
  const result = await work();
  return { result, ms: Date.now() - started };
}

describe('mcb replay with Redis down', () => {
  it('--id: resets the row, counts it as reset but not enqueued, names the Redis it could not reach, exits 0 within seconds', async () => {
    const ids = await insertFailed(1);
    const { result: r, ms } = await timed(() => mcb('replay', '--id', String(ids[0])));
    expect(ms).toBeLessThan(10_000);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      /^Replayed 0 of 1 log\(s\) in \d+\.\d s\.\n1 reset but not enqueued \(queue unavailable; the reconciler will add them\)\.\n$/,
    );
    // One line on stderr, password masked: no repeated queue warnings.
    expect(r.stderr).toBe(redisLine());
    expect(r.stderr).not.toContain('s3cret-redis');
    // Nothing lost: the row is `received`, where the reconciler finds it once Redis is back.
    expect(await statuses(ids)).toEqual([{ status: 'received', error_message: null }]);
  }, 20_000);

  it('a filter: every matching row reset, all counted as not enqueued, within seconds', async () => {
    const ids = await insertFailed(3);
    const { result: r, ms } = await timed(() => mcb('replay', '--tenant', tenant.slug, '--status', 'failed', '--yes'));
    expect(ms).toBeLessThan(10_000);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      /^Replayed 0 of 3 log\(s\) in \d+\.\d s\.\n3 reset but not enqueued \(queue unavailable; the reconciler will add them\)\.\n$/,
    );
    expect(r.stderr.split('\n').filter((l) => !l.startsWith('replay ['))).toEqual([redisLine().trimEnd(), '']);
    expect((await statuses(ids)).map((s) => s.status)).toEqual(['received', 'received', 'received']);
  }, 20_000);
});

describe('mcb queues with Redis down', () => {
  it('prints one line naming REDIS_URL (password masked) and exits 1 within seconds', async () => {
    const { result: r, ms } = await timed(() => mcb('queues'));
    expect(ms).toBeLessThan(10_000);
    expect(r).toEqual({ code: 1, stdout: '', stderr: redisLine() });
  }, 20_000);

  it('as a child process: exits 1 by itself with that one line and nothing else on stderr (no queue warnings)', () => {
    const main = fileURLToPath(new URL('../main.ts', import.meta.url));
    const started = Date.now();
    const run = spawnSync(process.execPath, ['--import', 'tsx', main, 'queues'], {
      env: { ...process.env, DATABASE_URL: databaseUrl, REDIS_URL: redisUrl },
      encoding: 'utf8',
      timeout: 40_000,
    });
    const ms = Date.now() - started;
    expect({ status: run.status, signal: run.signal, stdout: run.stdout, stderr: run.stderr }).toEqual({
      status: 1,
      signal: null,
      stdout: '',
      stderr: redisLine(),
    });
    // tsx compiles the CLI at start (a few seconds on a busy machine); the Redis part is bounded at 3 s.
    expect(ms).toBeLessThan(15_000);
  }, 45_000);
});
