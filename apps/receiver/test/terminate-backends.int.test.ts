import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { createDatabase, type Database, runMigrations } from '@mcb/db';
import { addTenant, generateKey, parseKeyring, setIntegration } from '@mcb/tenancy';
import { createTestDatabase, freeLoopbackPort, testEnv } from '@mcb/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// SPEC §10.9: a lost database connection never kills a process. postgres.js 3.4.9 could throw from a
// setImmediate when a connection closed under load (patched: patches/postgres@3.4.9.patch). Here a
// receiver and a worker run as real processes while every one of their Postgres backends is
// terminated again and again under load; both must stay up, and intake must keep working.
// (Found here and still open: after such a storm the worker process stays up but stops taking jobs —
// see the note of issue 11. The reconciler and processing are covered by redis-loss.int.test.ts.)

const root = fileURLToPath(new URL('../../../', import.meta.url));
const { redisUrl, redisPrefix } = testEnv();
const key = generateKey();
const secret = `sh-${randomUUID()}`;
let db: Awaited<ReturnType<typeof createTestDatabase>>;
let admin: Database;
let owner: Database;
let slug: string;
let tenantId: string;
const children: ChildProcess[] = [];
let receiverPort: number;
let workerPort: number;

function start(app: 'receiver' | 'worker', port: number): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', `${root}apps/${app}/src/main.ts`], {
    cwd: root,
    env: {
      PATH: process.env.PATH ?? '',
      DATABASE_URL: db.url,
      REDIS_URL: redisUrl,
      QUEUE_PREFIX: `${redisPrefix}-kill`,
      MCB_ENCRYPTION_KEY: key,
      HOST: '127.0.0.1',
      LOG_LEVEL: 'error',
      ...(app === 'receiver' ? { PORT: String(port) } : { WORKER_HEALTH_PORT: String(port), RECONCILE_INTERVAL_MS: '500' }),
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  children.push(child);
  return child;
}

async function healthy(port: number): Promise<boolean> {
  try {
    return (await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(2_000) })).ok;
  } catch {
    return false;
  }
}

async function waitHealthy(port: number) {
  const until = Date.now() + 60_000;
  while (!(await healthy(port))) {
    if (Date.now() > until) throw new Error(`port ${port} never became healthy`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

beforeAll(async () => {
  const { databaseUrl } = testEnv();
  // A database of its own, so terminating "its" backends touches no other test file.
  db = await createTestDatabase(databaseUrl, 'mcb_kill');
  await runMigrations(db.url);
  admin = createDatabase({ url: db.url, role: 'admin', max: 2 });
  // The connecting (superuser) role: terminating backends needs it.
  owner = createDatabase({ url: db.url, role: 'owner', max: 1 });
  slug = `kill-${randomUUID().slice(0, 8)}`;
  tenantId = (await addTenant(admin, { slug, name: 'Kill' })).id;
  await setIntegration(admin, parseKeyring(key), { slug, provider: 'manychat', webhookSecret: secret });
  receiverPort = await freeLoopbackPort();
  workerPort = await freeLoopbackPort();
  start('receiver', receiverPort);
  start('worker', workerPort);
  await Promise.all([waitHealthy(receiverPort), waitHealthy(workerPort)]);
}, 120_000);

afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  await Promise.all([admin?.close(), owner?.close()]);
  await db?.drop().catch(() => {});
});

const post = async (): Promise<number> => {
  const body = JSON.stringify({ subscriber: { id: randomUUID(), first_name: 'Kim' }, event_type: 'contact_created' });
  try {
    const res = await fetch(`http://127.0.0.1:${receiverPort}/api/webhooks/${slug}/manychat`, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json', 'x-webhook-secret': secret },
      signal: AbortSignal.timeout(10_000),
    });
    return res.status;
  } catch {
    return 0;
  }
};

describe('backends terminated under load (pg_terminate_backend)', () => {
  it('receiver and worker stay alive and answer; intake recovers and stores every 200', async () => {
    let running = true;
    const statuses: number[] = [];
    const load = Array.from({ length: 10 }, async () => {
      while (running) statuses.push(await post());
    });
    let killed = 0;
    const until = Date.now() + 6_000;
    while (Date.now() < until) {
      const rows = await owner.sql<{ n: number }[]>`
        select count(pg_terminate_backend(pid))::int as n from pg_stat_activity
        where datname = ${db.name} and pid <> pg_backend_pid() and application_name like 'mcb-%'`;
      killed += rows[0]?.n ?? 0;
      await new Promise((r) => setTimeout(r, 500));
    }
    running = false;
    await Promise.all(load);
    const count = (code: number) => statuses.filter((s) => s === code).length;
    console.log(`terminated ${killed} backends; answers: ${count(200)} × 200, ${count(503)} × 503, ${statuses.length} in all`);
    expect(killed).toBeGreaterThan(10);
    // Both processes survived and still answer.
    expect(children.map((c) => c.exitCode)).toEqual([null, null]);
    expect(await healthy(receiverPort)).toBe(true);
    expect(await healthy(workerPort)).toBe(true);
    // Never a hung request; only 200 or 503 while connections were being killed.
    expect(statuses.filter((s) => s !== 200 && s !== 503)).toEqual([]);
    // Afterwards intake works again without a restart (its pools reconnect within about a second),
    // and every 200 is stored.
    let after = 0;
    for (const until = Date.now() + 20_000; after !== 200 && Date.now() < until; ) {
      after = await post();
      if (after !== 200) await new Promise((r) => setTimeout(r, 200));
    }
    expect(after).toBe(200);
    const [row] = await admin.sql<{ total: number }[]>`select count(*)::int as total from webhook_logs where tenant_id = ${tenantId}`;
    expect(row?.total).toBeGreaterThanOrEqual(statuses.filter((s) => s === 200).length + 1);
  }, 180_000);
});
