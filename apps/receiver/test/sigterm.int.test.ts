import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { fileURLToPath } from 'node:url';
import { createDatabase } from '@mcb/db';
import { addTenant, parseKeyring, setIntegration } from '@mcb/tenancy';
import { freeLoopbackPort, testEnv } from '@mcb/testing';
import { afterAll, expect, it } from 'vitest';

// SPEC §10.7 (issue 13 fault suite): SIGTERM to a receiver process under load. Every request it had
// accepted is answered (200, and each 200 is a stored row); after it stops listening, new
// connections are refused (the provider retries); it exits 0.

const mainTs = fileURLToPath(new URL('../src/main.ts', import.meta.url));
const { databaseUrl, redisUrl, redisPrefix } = testEnv();
const key = randomBytes(32).toString('base64');
const admin = createDatabase({ url: databaseUrl, role: 'admin', max: 2 });
const children: ChildProcess[] = [];
afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await admin.close();
});

type Outcome = ({ status: number; id?: number } | { error: string }) & { sub?: string; startedAt?: number };

/** One POST on its own connection (no keep-alive), so "accepted" and "refused" are told apart. */
function post(port: number, path: string, body: string, secret: string): Promise<Outcome> {
  return new Promise((resolve) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: 'POST',
        agent: false,
        headers: { 'content-type': 'application/json', 'x-webhook-secret': secret },
      },
      (res) => {
        let text = '';
        res.on('data', (d) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, id: (JSON.parse(text || '{}') as { id?: number }).id }));
        res.on('error', (err) => resolve({ error: (err as NodeJS.ErrnoException).code ?? err.message }));
      },
    );
    req.on('error', (err) => resolve({ error: (err as NodeJS.ErrnoException).code ?? err.message }));
    req.end(body);
  });
}

it('SIGTERM under load: in-flight requests are answered and stored, new ones refused, exit 0', async () => {
  const slug = `term-${randomBytes(4).toString('hex')}`;
  const secret = `term-secret-${randomBytes(8).toString('hex')}`;
  const tenant = await addTenant(admin, { slug, name: 'Term' });
  await setIntegration(admin, parseKeyring(key), { slug, provider: 'manychat', webhookSecret: secret });
  const port = await freeLoopbackPort();
  const child = spawn(process.execPath, ['--import', 'tsx', mainTs], {
    env: {
      ...process.env,
      DATABASE_URL: databaseUrl,
      REDIS_URL: redisUrl,
      QUEUE_PREFIX: `${redisPrefix}-term`,
      MCB_ENCRYPTION_KEY: key,
      PORT: String(port),
      // Its /metrics listener: any free port (3003 may be taken by another test or an npm start).
      METRICS_PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'silent',
      SHUTDOWN_TIMEOUT_MS: '8000',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  children.push(child);
  let stderr = '';
  child.stderr?.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  for (let i = 0; ; i++) {
    const up = await new Promise<boolean>((r) =>
      request({ host: '127.0.0.1', port, path: '/healthz', agent: false }, (res) => r(res.statusCode === 200))
        .on('error', () => r(false))
        .end(),
    );
    if (up) break;
    if (i > 300) throw new Error(`receiver did not start: ${stderr}`);
    await new Promise((r) => setTimeout(r, 100));
  }

  // 16 concurrent senders, each posting until its connection is refused.
  const outcomes: Outcome[] = [];
  let answered = 0;
  let sent = 0;
  let signalled = false;
  let signalAt = 0;
  const sender = async (n: number) => {
    for (let i = 0; ; i++) {
      sent += 1;
      const body = JSON.stringify({ subscriber: { id: `term-${n}-${i}`, first_name: 'T' }, event_type: 'contact_created' });
      const startedAt = Date.now();
      const outcome = await post(port, `/api/webhooks/${slug}/manychat`, body, secret);
      outcomes.push({ ...outcome, sub: `term-${n}-${i}`, startedAt });
      if ('error' in outcome) return;
      answered += 1;
      if (answered >= 150 && !signalled) {
        signalled = true;
        signalAt = Date.now();
        child.kill('SIGTERM');
      }
    }
  };
  await Promise.all(Array.from({ length: 16 }, (_, n) => sender(n)));
  expect(await exited).toBe(0);

  const answers = outcomes.filter((o): o is { status: number; id?: number } => 'status' in o);
  const errors = outcomes.filter((o): o is { error: string } => 'error' in o).map((o) => o.error);
  expect(answers.length).toBeGreaterThanOrEqual(150);
  expect(new Set(answers.map((a) => a.status))).toEqual(new Set([200]));
  // In flight = sent before the signal: every one of them was answered. Requests sent after it may be
  // refused, or reset when they sat in the kernel's accept queue as the listener closed; none of
  // those was stored (no 2xx, nothing half done: the provider's retry is safe).
  const failed = outcomes.filter((o) => 'error' in o);
  expect(failed.filter((o) => (o.startedAt as number) < signalAt)).toEqual([]);
  expect(new Set(errors).size).toBeGreaterThan(0);
  for (const e of errors) expect(['ECONNREFUSED', 'ECONNRESET']).toContain(e);
  const failedStored = await admin.sql`
    select id from webhook_logs where tenant_id = ${tenant.id} and payload->'subscriber'->>'id' = any(${failed.map((o) => o.sub as string)}::text[])`;
  expect(failedStored).toEqual([]);
  const inFlight = outcomes.filter((o) => (o.startedAt as number) < signalAt && !(o as { id?: number }).id && 'status' in o);
  expect(inFlight).toEqual([]);
  const ids = answers.map((a) => a.id as number);
  const rows = await admin.sql<{ id: number }[]>`select id from webhook_logs where tenant_id = ${tenant.id}`;
  expect(rows.map((r) => r.id).sort((a, b) => a - b)).toEqual([...ids].sort((a, b) => a - b));
  process.stdout.write(
    `receiver SIGTERM: ${sent} sent, ${answers.length} answered 200 and stored (${outcomes.filter((o) => 'status' in o && (o.startedAt as number) < signalAt && (o as { id?: number }).id).length} sent before the signal), ${errors.length} refused or reset after it (${errors.filter((e) => e === 'ECONNRESET').length} reset)\n`,
  );
});
