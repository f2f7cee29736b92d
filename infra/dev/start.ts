// `npm start`: the whole system on embedded defaults, as one supervised process tree.
// Postgres: DATABASE_URL, else embedded. Redis: REDIS_URL, else a redis-server of this checkout,
// else 127.0.0.1:6379 under a queue prefix of this checkout, else BullMQ's PostgreSQL backend. Then
// migrate, seed, run receiver + worker + console, and say "ready" once they answer. SIGINT, SIGTERM
// or SIGHUP (to npm or to this process), or the death of the process that started it, stops the
// apps first, then Redis, then Postgres. Local state lives in MCB_DATA_DIR (default .mcb/); its
// start.pid names the npm start running from it (an unclean end leaves it, and the next one cleans up).
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { configErrorExitCode, maskUrlPassword } from '@mcb/core';
import { createDatabase, runMigrations } from '@mcb/db';
import { encryptionKeyUsage, generateKey, openText, parseKeyring, seedDemoTenants, shellQuote, unheldKeys } from '@mcb/tenancy';
import {
  demoManyChatContact,
  demoPerson,
  demoStripeEvent,
  freshlySignedStripeCurl,
  secretHeaderCurl,
  signedStripeCurl,
} from './demo-event';
import {
  chooseListenPorts,
  claimCheckout,
  databaseUrlError,
  redisAnswers,
  redisRefusal,
  releaseCheckout,
  type Service,
  startEmbeddedPostgres,
  startLocalRedis,
  unreachableReason,
} from './services';

const root = fileURLToPath(new URL('../..', import.meta.url));
const dataDir = resolve(root, process.env.MCB_DATA_DIR ?? '.mcb');
/** `npm run mcb -- <args>` as the user must type it to reach this system (the CLI finds it through MCB_DATA_DIR). */
const mcbCommand = (args: string) => `${process.env.MCB_DATA_DIR ? `MCB_DATA_DIR=${shellQuote(dataDir)} ` : ''}npm run mcb -- ${args}`;
mkdirSync(dataDir, { recursive: true });
// Whatever MCB_DATA_DIR is, git and the linter leave it alone: it holds secrets.json and a Postgres (an
// MCB_DATA_DIR inside the checkout showed as untracked, and npm test's lint printed secrets.json's keys).
if (!existsSync(join(dataDir, '.gitignore'))) writeFileSync(join(dataDir, '.gitignore'), '# npm start state: secrets, databases\n*\n');
// A closed terminal answers every write EIO: what this process says is lost, but it must still stop what
// it started (an unhandled write error killed it and left Postgres and Redis running; review, stop 33).
for (const stream of [process.stdout, process.stderr]) stream.on('error', () => {});
const say = (line: string) => process.stdout.write(`[mcb] ${line}\n`);
const warn = (line: string) => process.stderr.write(`[mcb] warning: ${line}\n`);

// Stopped in reverse order of start: Postgres (started first) stops last.
const services: Array<{ name: string; stop: () => Promise<void> }> = [];
const children: ChildProcess[] = [];
let stopping = false;

async function stopAll(code: number): Promise<never> {
  // Ctrl-C reaches npm, this process and every child at once, and npm forwards it again:
  // repeated signals are ignored; the hard deadline below bounds the whole stop.
  if (stopping) return new Promise<never>(() => {});
  stopping = true;
  // Refused before anything started (MCB already runs here, a port in use): nothing to stop, and
  // "stopping… stopped." read as if it had stopped the running one (operator walk, stop 33).
  if (children.length === 0 && services.length === 0) {
    releaseCheckout(dataDir);
    process.exit(code);
  }
  say('stopping…');
  const hardDeadline = setTimeout(() => {
    for (const child of children) child.kill('SIGKILL');
    void Promise.all(services.map((s) => s.stop().catch(() => {}))).finally(() => process.exit(code || 1));
  }, 12_000);
  hardDeadline.unref();
  await Promise.all(
    children.map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          const kill = setTimeout(() => child.kill('SIGKILL'), 9_000);
          child.once('exit', () => {
            clearTimeout(kill);
            resolve();
          });
          child.kill('SIGTERM');
        }),
    ),
  );
  say('apps stopped');
  for (const service of services.reverse()) {
    await service.stop().catch((err) => warn(`${service.name}: ${String(err)}`));
    say(`${service.name} stopped`);
  }
  releaseCheckout(dataDir);
  say('stopped.');
  process.exit(code);
}
process.on('SIGINT', () => void stopAll(0));
process.on('SIGTERM', () => void stopAll(0));
// The terminal closed (or the SSH session dropped): stop as for Ctrl-C. Unhandled, SIGHUP killed every
// process at once, left Postgres and Redis running, and the next npm start refused to start.
process.on('SIGHUP', () => void stopAll(0));
// npm and sh do not always pass a process manager's SIGTERM on: when the process that started this
// one goes away, stop as if signalled rather than leave the apps and databases running as orphans.
const parentPid = process.ppid;
setInterval(() => {
  if (process.ppid !== parentPid) void stopAll(0);
}, 500).unref();

/** Local secrets for development, generated once into <data dir>/secrets.json (never committed). */
function localSecrets(): { encryptionKey: string; adminToken: string } {
  const file = join(dataDir, 'secrets.json');
  if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8'));
  const secrets = { encryptionKey: generateKey(), adminToken: randomBytes(24).toString('base64url') };
  writeFileSync(file, JSON.stringify(secrets, null, 2), { mode: 0o600 });
  warn(`generated a local MCB_ENCRYPTION_KEY and ADMIN_TOKEN into ${file} — set your own in production`);
  return secrets;
}

function runApp(name: string, entry: string, env: NodeJS.ProcessEnv, restarts = 0): void {
  if (stopping) return; // a stop during the start: its apps would start against stopped services
  const child = spawn(process.execPath, ['--import', 'tsx', '--import', join(root, 'infra/dev/with-supervisor.mjs'), join(root, entry)], {
    cwd: root,
    env,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  children.push(child);
  child.on('exit', (code, signal) => {
    children.splice(children.indexOf(child), 1);
    if (stopping) return;
    // Its configuration is wrong (it said which variable, above): restarting cannot help.
    if (code === configErrorExitCode) {
      warn(`${name} refused its configuration (see the line above); stopping`);
      void stopAll(1);
      return;
    }
    if (restarts >= 5) {
      warn(`${name} exited (${code ?? signal}) too often; stopping`);
      void stopAll(1);
      return;
    }
    warn(`${name} exited (${code ?? signal}); restarting`);
    setTimeout(() => runApp(name, entry, env, restarts + 1), 1_000 * (restarts + 1));
  });
}

/** Resolves once every URL answers 200, or rejects after `timeoutMs`. */
async function untilReady(urls: string[], timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  const pending = new Set(urls);
  while (pending.size) {
    for (const url of pending) {
      const ok = await fetch(url, { signal: AbortSignal.timeout(2_000) }).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) pending.delete(url);
    }
    if (!pending.size) return;
    if (Date.now() > end) throw new Error(`not answering after ${timeoutMs / 1000} s: ${[...pending].join(', ')}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function chooseRedis(env: NodeJS.ProcessEnv): Promise<void> {
  if (env.REDIS_URL && env.QUEUE_BACKEND !== 'postgres') {
    const shown = maskUrlPassword(env.REDIS_URL);
    const unreachable = await unreachableReason(env.REDIS_URL, 6379);
    if (unreachable)
      throw new Error(
        `cannot reach REDIS_URL ${shown} (${unreachable}): start that Redis, or unset REDIS_URL and npm start runs one of its own`,
      );
    const refused = await redisRefusal(env.REDIS_URL);
    if (refused)
      throw new Error(
        `the Redis at REDIS_URL ${shown} refused it (${refused}): check the user and password it carries, or unset REDIS_URL and npm start runs one of its own`,
      );
  }
  if (env.REDIS_URL || env.QUEUE_BACKEND === 'postgres') {
    say(`queues: ${env.QUEUE_BACKEND === 'postgres' ? 'BullMQ PostgreSQL backend' : 'REDIS_URL'}`);
    return;
  }
  // Registered once spawned, before it answers: a stop during the start stops it too.
  const slot = { name: 'redis', stop: async () => {} };
  const own = await startLocalRedis(dataDir, say, (stop) => {
    slot.stop = stop;
    services.push(slot);
  });
  if (own) {
    env.REDIS_URL = own.url;
    say(`queues: ${own.describe}`);
  } else if (await redisAnswers('127.0.0.1', 6379)) {
    // Another checkout may use this Redis too: queues under a prefix only this checkout uses.
    env.REDIS_URL = 'redis://127.0.0.1:6379';
    env.QUEUE_PREFIX ??= `mcb-${createHash('sha256').update(root).digest('hex').slice(0, 10)}`;
    say(`queues: Redis on 127.0.0.1:6379 under prefix ${env.QUEUE_PREFIX} (no redis-server on PATH to run one of this checkout's own)`);
  } else {
    env.QUEUE_BACKEND = 'postgres';
    warn("no Redis found: queues run on BullMQ's PostgreSQL backend (fine for a laptop, not for production)");
  }
}

async function main() {
  const secrets = localSecrets();
  const env: NodeJS.ProcessEnv = { ...process.env };
  const ownAdminToken = !env.ADMIN_TOKEN;
  const ownKey = !env.MCB_ENCRYPTION_KEY;
  env.MCB_ENCRYPTION_KEY ??= secrets.encryptionKey;
  env.ADMIN_TOKEN ??= secrets.adminToken;
  env.LOG_LEVEL ??= 'info';
  // A laptop's services listen on loopback only; set HOST=0.0.0.0 to reach them from elsewhere.
  env.HOST ??= '127.0.0.1';
  // Reports written without RESEND_API_KEY go with the rest of this npm start's state (they went to the
  // checkout's .mcb/outbox whatever MCB_DATA_DIR was: two data directories shared one outbox).
  env.REPORT_OUTBOX_DIR ??= join(dataDir, 'outbox');
  const { uncleanStop } = claimCheckout(dataDir);
  // Checked before anything starts: it was printed as given (`notaurl/api/webhooks/…`) as the URL to paste.
  if (env.PUBLIC_BASE_URL !== undefined && !/^https?:\/\/[^/\s]+/.test(env.PUBLIC_BASE_URL))
    throw new Error(
      `PUBLIC_BASE_URL ${JSON.stringify(env.PUBLIC_BASE_URL)} is not an http(s) URL: set it as https://hooks.example.com, or unset it`,
    );
  await chooseListenPorts(env);

  let pgService: Service | null = null;
  if (!env.DATABASE_URL) {
    pgService = await startEmbeddedPostgres(dataDir, say, {
      stopLeftRunning: uncleanStop,
      // Registered as pg_ctl starts it: a stop during the start (Ctrl-C while it waits) stops it too.
      onStarting: (stop) => services.push({ name: 'postgres', stop }),
    });
    env.DATABASE_URL = pgService.url;
  }
  say(`postgres: ${pgService?.describe ?? 'DATABASE_URL'}`);
  await chooseRedis(env);

  await runMigrations(env.DATABASE_URL as string).catch((err: Error & { code?: unknown }) => {
    throw pgService ? err : databaseUrlError(env.DATABASE_URL as string, err);
  });
  const keyring = parseKeyring(env.MCB_ENCRYPTION_KEY as string);
  const admin = createDatabase({ url: env.DATABASE_URL as string, role: 'admin', max: 1 });
  // Values sealed under a key this run lacks (a rotation done with MCB_ENCRYPTION_KEY="new,old" on the
  // mcb command line, then a plain npm start): said with the fix, before the apps answer 503 for them.
  const unheld = unheldKeys(await encryptionKeyUsage(admin), keyring);
  if (unheld.length) {
    await admin.close();
    throw new Error(
      `this database holds values sealed under key ${unheld.join(', ')}, which MCB_ENCRYPTION_KEY (${ownKey ? `encryptionKey in ${join(dataDir, 'secrets.json')}` : 'from the environment'}) lacks: after a key rotation, give npm start the same list (MCB_ENCRYPTION_KEY="new,old" npm start), or put it in ${join(dataDir, 'secrets.json')} as encryptionKey`,
    );
  }
  const created = await seedDemoTenants(admin, keyring);
  if (created.length) say(`seeded demo tenants: ${created.join(', ')}`);
  const demoSecrets = await admin.sql<{ provider: string; webhook_secret: string | null }[]>`
    select i.provider, i.webhook_secret from tenant_integrations i join tenants t on t.id = i.tenant_id
    where t.slug = 'ppcu' and i.provider in ('stripe', 'manychat') and i.is_active`;
  await admin.close();
  const demoSecret = (provider: string) => {
    const sealed = demoSecrets.find((r) => r.provider === provider)?.webhook_secret;
    return sealed ? openText(keyring, sealed) : undefined;
  };

  const base = env.PUBLIC_BASE_URL ?? `http://127.0.0.1:${env.PORT}`;
  // The CLI (`npm run mcb`) reads these when the shell sets none, so it talks to this system
  // (PORT / PUBLIC_BASE_URL: `mcb urls` prints where this receiver really listens).
  writeFileSync(
    join(dataDir, 'dev.env'),
    `${Object.entries({ ...env, PUBLIC_BASE_URL: base })
      .filter(
        ([k, v]) =>
          [
            'DATABASE_URL',
            'REDIS_URL',
            'QUEUE_BACKEND',
            'QUEUE_PREFIX',
            'MCB_ENCRYPTION_KEY',
            'PORT',
            'PUBLIC_BASE_URL',
            'REPORT_OUTBOX_DIR',
          ].includes(k) && v,
      )
      .map(([k, v]) => `${k}=${v}`)
      .join('\n')}\n`,
    { mode: 0o600 },
  );

  say('starting receiver, worker and console…');
  runApp('receiver', 'apps/receiver/src/main.ts', env);
  runApp('worker', 'apps/worker/src/main.ts', env);
  runApp('console', 'apps/console/src/main.ts', env);
  const local = (port: string | undefined, path: string) => `http://127.0.0.1:${port}${path}`;
  await untilReady(
    [
      local(env.PORT, '/readyz'),
      local(env.METRICS_PORT, '/metrics'),
      local(env.WORKER_HEALTH_PORT, '/readyz'),
      local(env.CONSOLE_PORT, '/readyz'),
    ],
    180_000,
  );

  const consoleUrl = local(env.CONSOLE_PORT, '/login');
  const lines = [
    '',
    'MCB is ready.',
    `Console:          ${consoleUrl}`,
    // The token generated for this laptop is shown on a terminal only, never written to a log file.
    !ownAdminToken
      ? '  sign in with your ADMIN_TOKEN'
      : process.stdout.isTTY
        ? `  sign in with the admin token ${env.ADMIN_TOKEN}   (kept in ${join(dataDir, 'secrets.json')})`
        : `  sign in with the admin token: "adminToken" in ${join(dataDir, 'secrets.json')}`,
    'Webhook URLs for the demo tenant ppcu:',
    ...['manychat', 'ghl', 'stripe', 'denefits', 'perspective'].map((s) => `  ${s.padEnd(12)} ${base}/api/webhooks/ppcu/${s}`),
    `Receiver health:  ${base}/readyz`,
    `Metrics:          ${local(env.METRICS_PORT, '/metrics')} (receiver), ${local(env.WORKER_HEALTH_PORT, '/metrics')} (worker)`,
    `Secrets and per-tool setup: ${mcbCommand('urls ppcu')}`,
  ];
  const stripeSecret = demoSecret('stripe');
  const manychatSecret = demoSecret('manychat');
  // What to say, then the command to run; printed on a terminal, written as a script otherwise.
  // `script` is what demo.sh runs instead of `run`, when they differ.
  const demo: Array<{ say: string; run: string; script?: string }> = [];
  if (stripeSecret) {
    const url = `${base}/api/webhooks/ppcu/stripe`;
    const event = demoStripeEvent();
    demo.push({
      say: 'Send a signed demo Stripe event (signature valid for 5 minutes):',
      run: signedStripeCurl(url, stripeSecret, event),
      script: freshlySignedStripeCurl(url, stripeSecret, event),
    });
  }
  if (stripeSecret && manychatSecret) {
    // A payment alone never creates a contact (SPEC §6.3): show the linkage instead of a puzzle.
    demo.push(
      {
        say: `Its payment waits as an orphan: no contact has ${demoPerson.email} yet. This ManyChat contact links it:`,
        run: secretHeaderCurl(`${base}/api/webhooks/ppcu/manychat`, manychatSecret, demoManyChatContact()),
      },
      { say: 'Then see her, the payment linked:', run: mcbCommand(`contact ppcu ${demoPerson.email}`) },
    );
  }
  if (demo.length > 0) {
    // The curls carry the demo tenant's webhook secret and a signature: shown on a terminal only, as
    // the admin token is; never written to a log file (stdout redirected, CI), but kept in a 0600 file.
    const demoFile = join(dataDir, 'demo.sh');
    const says = (d: (typeof demo)[number]) =>
      d.script ? d.say.replace(' (signature valid for 5 minutes)', ', signed as it runs') : d.say;
    writeFileSync(demoFile, `${demo.map((d) => `# ${says(d)}\n${d.script ?? d.run}`).join('\n')}\n`, { mode: 0o600 });
    if (process.stdout.isTTY)
      lines.push(...demo.flatMap((d) => [d.say, `  ${d.run}`]), `Later, or again: bash ${shellQuote(demoFile)} (signed as it runs)`);
    else lines.push(`Demo deliveries (they carry the demo tenant's secrets, so they are not printed here): ${demoFile}`);
  }
  lines.push('Ctrl-C stops everything.', '');
  process.stdout.write(`${lines.join('\n')}\n`);
}

main().catch((err) => {
  process.stderr.write(`[mcb] start failed: ${err instanceof Error ? err.message : String(err)}\n`);
  void stopAll(1);
});
