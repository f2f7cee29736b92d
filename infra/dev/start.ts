// `npm start`: the whole system on embedded defaults, as one supervised process tree.
// Postgres: DATABASE_URL, else embedded. Redis: REDIS_URL, else 127.0.0.1:6379, else a local
// redis-server, else BullMQ's PostgreSQL backend. Then migrate, seed, run receiver + worker +
// console, print the URLs. Ctrl-C stops everything it started within 10 s.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createDatabase, runMigrations } from '@mcb/db';
import { generateKey, openText, parseKeyring, seedDemoTenants } from '@mcb/tenancy';
import { demoStripeEvent, signedStripeCurl } from './demo-event';
import { type Service, startEmbeddedPostgres, startLocalRedis } from './services';

const root = fileURLToPath(new URL('../..', import.meta.url));
const dataDir = join(root, '.mcb');
mkdirSync(dataDir, { recursive: true });
const say = (line: string) => process.stdout.write(`[mcb] ${line}\n`);
const warn = (line: string) => process.stderr.write(`[mcb] warning: ${line}\n`);

const stoppers: Array<() => Promise<void>> = [];
const children: ChildProcess[] = [];
let stopping = false;

async function stopAll(code: number): Promise<never> {
  // Ctrl-C reaches npm, this process and every child at once, and npm forwards it again:
  // repeated signals are ignored; the hard deadline below bounds the whole stop.
  if (stopping) return new Promise<never>(() => {});
  stopping = true;
  say('stopping…');
  const hardDeadline = setTimeout(() => {
    for (const child of children) child.kill('SIGKILL');
    void Promise.all(stoppers.map((stop) => stop().catch(() => {}))).finally(() => process.exit(code || 1));
  }, 8_000);
  hardDeadline.unref();
  await Promise.all(
    children.map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          const kill = setTimeout(() => child.kill('SIGKILL'), 6_000);
          child.once('exit', () => {
            clearTimeout(kill);
            resolve();
          });
          child.kill('SIGTERM');
        }),
    ),
  );
  for (const stop of stoppers.reverse()) await stop().catch((err) => warn(String(err)));
  say('stopped.');
  process.exit(code);
}
process.on('SIGINT', () => void stopAll(0));
process.on('SIGTERM', () => void stopAll(0));

/** Local secrets for development, generated once into .mcb/secrets.json (never committed). */
function localSecrets(): { encryptionKey: string; adminToken: string } {
  const file = join(dataDir, 'secrets.json');
  if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8'));
  const secrets = { encryptionKey: generateKey(), adminToken: randomBytes(24).toString('base64url') };
  writeFileSync(file, JSON.stringify(secrets, null, 2), { mode: 0o600 });
  warn('generated a local MCB_ENCRYPTION_KEY and ADMIN_TOKEN into .mcb/secrets.json — set your own in production');
  return secrets;
}

function runApp(name: string, entry: string, env: NodeJS.ProcessEnv, restarts = 0): void {
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, entry)], {
    cwd: root,
    env,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  children.push(child);
  child.on('exit', (code, signal) => {
    children.splice(children.indexOf(child), 1);
    if (stopping) return;
    if (restarts >= 5) {
      warn(`${name} exited (${code ?? signal}) too often; stopping`);
      void stopAll(1);
      return;
    }
    warn(`${name} exited (${code ?? signal}); restarting`);
    setTimeout(() => runApp(name, entry, env, restarts + 1), 1_000 * (restarts + 1));
  });
}

async function main() {
  const secrets = localSecrets();
  const env: NodeJS.ProcessEnv = { ...process.env };
  env.MCB_ENCRYPTION_KEY ??= secrets.encryptionKey;
  env.ADMIN_TOKEN ??= secrets.adminToken;
  env.LOG_LEVEL ??= 'info';

  let pgService: Service | null = null;
  if (!env.DATABASE_URL) {
    pgService = await startEmbeddedPostgres(dataDir, say);
    stoppers.push(pgService.stop);
    env.DATABASE_URL = pgService.url;
  }
  say(`postgres: ${pgService?.describe ?? 'DATABASE_URL'}`);

  if (!env.REDIS_URL && env.QUEUE_BACKEND !== 'postgres') {
    const redis = await startLocalRedis(dataDir, say);
    if (redis) {
      stoppers.push(redis.stop);
      env.REDIS_URL = redis.url;
      say(`queues: ${redis.describe}`);
    } else {
      env.QUEUE_BACKEND = 'postgres';
      warn("no Redis found: queues run on BullMQ's PostgreSQL backend (fine for a laptop, not for production)");
    }
  } else say(`queues: ${env.QUEUE_BACKEND === 'postgres' ? 'BullMQ PostgreSQL backend' : 'REDIS_URL'}`);

  await runMigrations(env.DATABASE_URL as string);
  const keyring = parseKeyring(env.MCB_ENCRYPTION_KEY as string);
  const admin = createDatabase({ url: env.DATABASE_URL as string, role: 'admin', max: 1 });
  const created = await seedDemoTenants(admin, keyring);
  if (created.length) say(`seeded demo tenants: ${created.join(', ')}`);
  const [stripe] = await admin.sql<{ webhook_secret: string | null }[]>`
    select i.webhook_secret from tenant_integrations i join tenants t on t.id = i.tenant_id
    where t.slug = 'ppcu' and i.provider = 'stripe'`;
  await admin.close();

  // The CLI (`npm run mcb`) reads these when the shell sets none, so it talks to this system
  // (PORT / PUBLIC_BASE_URL: `mcb urls` prints where this receiver really listens).
  writeFileSync(
    join(dataDir, 'dev.env'),
    `${['DATABASE_URL', 'REDIS_URL', 'QUEUE_BACKEND', 'MCB_ENCRYPTION_KEY', 'PORT', 'PUBLIC_BASE_URL']
      .filter((k) => env[k])
      .map((k) => `${k}=${env[k]}`)
      .join('\n')}\n`,
    { mode: 0o600 },
  );

  const port = Number(env.PORT ?? 3000);
  const consolePort = Number(env.CONSOLE_PORT ?? 3001);
  runApp('receiver', 'apps/receiver/src/main.ts', env);
  runApp('worker', 'apps/worker/src/main.ts', env);
  runApp('console', 'apps/console/src/main.ts', env);

  const base = env.PUBLIC_BASE_URL ?? `http://127.0.0.1:${port}`;
  const lines = [
    '',
    'MCB is starting. Webhook URLs for the demo tenant ppcu:',
    ...['manychat', 'ghl', 'stripe', 'denefits', 'perspective'].map((s) => `  ${s.padEnd(12)} ${base}/api/webhooks/ppcu/${s}`),
    `Receiver health:  ${base}/readyz`,
    `Console:          http://127.0.0.1:${consolePort}/admin/queues   (ADMIN_TOKEN in .mcb/secrets.json)`,
    'Secrets and per-tool setup: npm run mcb -- urls ppcu',
  ];
  if (stripe?.webhook_secret) {
    const secret = openText(keyring, stripe.webhook_secret);
    lines.push(
      'Send a signed demo Stripe event (signature valid for 5 minutes):',
      `  ${signedStripeCurl(`${base}/api/webhooks/ppcu/stripe`, secret, demoStripeEvent())}`,
    );
  }
  lines.push('Ctrl-C stops everything.', '');
  process.stdout.write(`${lines.join('\n')}\n`);
}

main().catch((err) => {
  process.stderr.write(`[mcb] start failed: ${err instanceof Error ? err.message : String(err)}\n`);
  void stopAll(1);
});
