import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { exited, freePort, until } from '@mcb/deploy/processes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// The two-command dev loop, for real: `npm start` on embedded Postgres and a Redis of its own, in a
// data folder of this test (MCB_DATA_DIR), then SIGTERM to the npm process, as a process manager does.
const root = fileURLToPath(new URL('../..', import.meta.url));
const dataDir = mkdtempSync(join(tmpdir(), 'mcb-dev-'));
const ports = { PORT: 0, CONSOLE_PORT: 0, WORKER_HEALTH_PORT: 0 };
const env: Record<string, string> = {};
let npm: ChildProcess;
let stdout = '';
// Everything npm start ran, recorded once it is ready, so a failing test still cleans up.
let started: { tree: number[]; postgres: number; redis: number } = { tree: [], postgres: 0, redis: 0 };

/** Every live process below `pid` (children, grandchildren, …), from /proc. */
function descendants(pid: number): number[] {
  const parents = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const ppid = Number(/^\d+ \(.*\) \S (\d+)/.exec(readFileSync(`/proc/${entry}/stat`, 'utf8'))?.[1]);
      parents.set(ppid, [...(parents.get(ppid) ?? []), Number(entry)]);
    } catch {
      // The process ended while we read.
    }
  }
  const out: number[] = [];
  for (let queue = [pid]; queue.length; ) {
    const next = parents.get(queue.shift()!) ?? [];
    out.push(...next);
    queue.push(...next);
  }
  return out;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ');
  } catch {
    return false;
  }
};

beforeAll(async () => {
  for (const key of Object.keys(ports) as Array<keyof typeof ports>) ports[key] = await freePort();
  // Only what a developer's shell has: no DATABASE_URL, no REDIS_URL.
  Object.assign(env, {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? dataDir,
    MCB_DATA_DIR: dataDir,
    LOG_LEVEL: 'warn',
    ...Object.fromEntries(Object.entries(ports).map(([k, v]) => [k, String(v)])),
  });
  npm = spawn('npm', ['start'], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  npm.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  npm.stderr?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  await until(async () => (stdout.includes('MCB is ready.') ? true : undefined), 170_000, `npm start to say ready:\n${stdout}`);
  started = {
    tree: descendants(npm.pid!),
    postgres: Number(readFileSync(join(dataDir, 'pg', 'postmaster.pid'), 'utf8').split('\n')[0]),
    redis: Number(readFileSync(join(dataDir, 'redis', 'redis.pid'), 'utf8')),
  };
}, 180_000);

afterAll(async () => {
  for (const pid of [...started.tree, started.redis]) if (pid && alive(pid)) process.kill(pid, 'SIGKILL');
  // Postgres: a fast shutdown (SIGINT), so it releases its shared memory.
  if (started.postgres && alive(started.postgres)) process.kill(started.postgres, 'SIGINT');
  await until(async () => (started.postgres && alive(started.postgres) ? undefined : true), 15_000, 'postgres to stop').catch(() => {});
  rmSync(dataDir, { recursive: true, force: true });
});

describe('npm start', () => {
  it('says ready only once the apps answer, with the console URL and how to sign in', async () => {
    expect(stdout).toContain(`Console:          http://127.0.0.1:${ports.CONSOLE_PORT}/login`);
    expect(stdout).toContain(`sign in with the admin token: "adminToken" in ${join(dataDir, 'secrets.json')}`);
    const token = JSON.parse(readFileSync(join(dataDir, 'secrets.json'), 'utf8')).adminToken as string;
    // Never printed when the output is not a terminal (a log file, CI).
    expect(stdout).not.toContain(token);
    for (const [port, path] of [
      [ports.PORT, '/readyz'],
      [ports.WORKER_HEALTH_PORT, '/readyz'],
      [ports.CONSOLE_PORT, '/readyz'],
    ] as const) {
      expect((await fetch(`http://127.0.0.1:${port}${path}`)).status).toBe(200);
    }
    const signIn = await fetch(`http://127.0.0.1:${ports.CONSOLE_PORT}/admin/api/stats`, { headers: { authorization: `Bearer ${token}` } });
    expect(signIn.status).toBe(200);
  });

  it("serves the receiver's /metrics on a port of its own, chosen apart from the others, and not on PORT", async () => {
    const metricsPort = Number(/^Metrics: +http:\/\/127\.0\.0\.1:(\d+)\/metrics \(receiver\)/m.exec(stdout)?.[1]);
    expect(metricsPort).toBeGreaterThan(0);
    expect(Object.values(ports)).not.toContain(metricsPort);
    const metrics = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toContain('# TYPE mcb_receiver_requests_total');
    expect((await fetch(`http://127.0.0.1:${ports.PORT}/metrics`)).status).toBe(404);
  });

  it('runs its queues on a Redis of its own, never a shared one', () => {
    const redisUrl = /^REDIS_URL=(.*)$/m.exec(readFileSync(join(dataDir, 'dev.env'), 'utf8'))?.[1];
    const port = Number(/^redis:\/\/127\.0\.0\.1:(\d+)$/.exec(redisUrl ?? '')?.[1]);
    expect(port).toBeGreaterThan(0);
    expect(port).not.toBe(6379);
    expect(stdout).toContain(`queues: redis-server of this checkout on 127.0.0.1:${port}`);
  });

  it('`npm run mcb -- urls` prints the running receiver’s address', () => {
    const r = spawnSync('npm', ['run', '--silent', 'mcb', '--', 'urls', 'ppcu'], { cwd: root, env, encoding: 'utf8', timeout: 90_000 });
    expect(r.stderr).not.toMatch(/error/i);
    expect(r.stdout).toContain(`http://127.0.0.1:${ports.PORT}/api/webhooks/ppcu/stripe`);
  });

  it('the printed demo curls work as printed: the Stripe payment waits as an orphan, the ManyChat contact links it', async () => {
    // Not printed to a log (stdout is not a terminal here): they carry the demo tenant's secrets.
    expect(stdout).not.toMatch(/X-Webhook-Secret|Stripe-Signature/);
    const demoFile = join(dataDir, 'demo.sh');
    expect(stdout).toContain(`Demo deliveries (they carry the demo tenant's secrets, so they are not printed here): ${demoFile}`);
    expect(statSync(demoFile).mode & 0o777).toBe(0o600);
    // Git and biome ignore the data directory wherever it is (one inside the checkout was linted, printing secrets.json).
    expect(readFileSync(join(dataDir, '.gitignore'), 'utf8')).toMatch(/^\*$/m);
    // Reports without RESEND_API_KEY go to this data directory's outbox, for the apps and for npm run mcb.
    expect(readFileSync(join(dataDir, 'dev.env'), 'utf8').split('\n')).toContain(`REPORT_OUTBOX_DIR=${join(dataDir, 'outbox')}`);
    const demo = readFileSync(demoFile, 'utf8');
    // The Stripe one signs as it runs (`sig=$(node …) && curl …`): a signature made at start was stale after 5 minutes.
    const curls = demo.split('\n').filter((line) => line.startsWith('curl ') || line.startsWith('sig=$(node '));
    expect(demo).not.toMatch(/t=\d+,v1=/);
    const [stripeCurl, manychatCurl] = [curls.find((c) => c.includes('/ppcu/stripe')), curls.find((c) => c.includes('/ppcu/manychat'))];
    expect(stripeCurl).toBeDefined();
    expect(manychatCurl).toBeDefined();
    const token = JSON.parse(readFileSync(join(dataDir, 'secrets.json'), 'utf8')).adminToken as string;
    const send = (curl: string) => {
      const r = spawnSync('sh', ['-c', curl], { env, encoding: 'utf8', timeout: 30_000 });
      expect(r.status, r.stderr).toBe(0);
      return JSON.parse(r.stdout) as { received?: boolean; id?: number };
    };
    const statusOf = async (id: number) => {
      const res = await fetch(`http://127.0.0.1:${ports.CONSOLE_PORT}/admin/api/logs/${id}`, {
        headers: { authorization: `Bearer ${token}` },
      });
      const { log } = (await res.json()) as { log?: { status?: string } };
      return log?.status === 'processed' ? log.status : undefined;
    };
    const payment = send(stripeCurl as string);
    expect(payment).toMatchObject({ received: true });
    await until(() => statusOf(payment.id as number), 30_000, 'the demo Stripe event to be processed');
    // The printed `then:` command, as printed, from a shell that has only what a user's shell has (no
    // MCB_DATA_DIR: the printed line must carry it, since this npm start was given one).
    const printed = /^(MCB_DATA_DIR=.*)$/m.exec(demo)?.[1];
    expect(printed).toBe(`MCB_DATA_DIR='${dataDir}' npm run mcb -- contact ppcu jane.doe@example.com`);
    const { MCB_DATA_DIR: _own, ...userShell } = env;
    const contact = () =>
      spawnSync('sh', ['-c', (printed as string).replace('npm run mcb', 'npm run --silent mcb')], {
        cwd: root,
        env: userShell,
        encoding: 'utf8',
        timeout: 90_000,
      });
    // A payment alone creates no contact (SPEC §6.3).
    expect(contact().stderr).toContain('No contact matching jane.doe@example.com');

    const person = send(manychatCurl as string);
    expect(person).toMatchObject({ received: true });
    await until(() => statusOf(person.id as number), 30_000, 'the demo ManyChat contact to be processed');
    const shown = await until(
      async () => {
        const out = contact().stdout;
        return out.includes('payment full_purchase') ? out : undefined;
      },
      30_000,
      'the orphan payment to be linked to Jane',
    );
    expect(shown).toContain('$2,500.00');
    expect(shown).toContain('purchase_completed');
    // The Stripe log names the contact its payment was linked to (it read `contact -`: it was processed with none).
    const jane = /^Contact (\S+) \(tenant ppcu\)/m.exec(shown)?.[1];
    expect(jane).toBeDefined();
    const log = spawnSync(
      'sh',
      ['-c', `${(printed as string).replace('npm run mcb', 'npm run --silent mcb').replace(/ contact .*/, ` log ${payment.id}`)}`],
      {
        cwd: root,
        env: userShell,
        encoding: 'utf8',
        timeout: 90_000,
      },
    );
    expect(log.stdout).toMatch(
      new RegExp(`^contact {5}${jane} \\(linked after this log was processed: what it booked waited for its contact\\)$`, 'm'),
    );
  }, 150_000);

  it('a second npm start of the same checkout says MCB already runs there, and leaves the first alone', () => {
    const second = spawnSync('npm', ['start'], { cwd: root, env, encoding: 'utf8', timeout: 120_000 });
    expect(second.status).not.toBe(0);
    const first = Number(readFileSync(join(dataDir, 'start.pid'), 'utf8'));
    expect(started.tree).toContain(first);
    expect(`${second.stdout}${second.stderr}`).toContain(`MCB already runs from this checkout (npm start, pid ${first})`);
    // Nothing was started, so nothing is said to stop (it read as if it had stopped the first one).
    expect(`${second.stdout}${second.stderr}`).not.toMatch(/stopping|stopped/);
    expect(readFileSync(join(dataDir, 'pg.port'), 'utf8')).toBe(
      /^DATABASE_URL=.*:(\d+)\/mcb$/m.exec(readFileSync(join(dataDir, 'dev.env'), 'utf8'))?.[1],
    );
    // A new connection (curl), not fetch's pooled one, which the receiver may have closed as idle.
    const ready = spawnSync('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', `http://127.0.0.1:${ports.PORT}/readyz`], {
      encoding: 'utf8',
      timeout: 10_000,
    });
    expect(ready.stdout).toBe('200');
  });

  // Operator walk, stop 33: it was printed as given (`notaurl/api/webhooks/…`) as the URL to paste.
  it('refuses a PUBLIC_BASE_URL that is not an http(s) URL before starting anything', () => {
    const own = mkdtempSync(join(tmpdir(), 'mcb-dev-'));
    try {
      const run = spawnSync('npm', ['start'], {
        cwd: root,
        env: { ...env, MCB_DATA_DIR: own, PUBLIC_BASE_URL: 'notaurl' },
        encoding: 'utf8',
        timeout: 60_000,
      });
      expect(run.status).toBe(1);
      expect(run.stderr).toContain(
        '[mcb] start failed: PUBLIC_BASE_URL "notaurl" is not an http(s) URL: set it as https://hooks.example.com, or unset it',
      );
      expect(`${run.stdout}${run.stderr}`).not.toMatch(/postgres|stopping/);
    } finally {
      rmSync(own, { recursive: true, force: true });
    }
  });

  it('SIGTERM to the npm process stops every child: the apps, then Redis, then Postgres', async () => {
    const { tree, postgres: postgresPid, redis: redisPid } = started;
    expect(tree.length).toBeGreaterThanOrEqual(5);
    expect([postgresPid, redisPid].every(alive)).toBe(true);
    const gone = exited(npm);
    npm.kill('SIGTERM');
    await gone;
    const all = [...tree, postgresPid, redisPid];
    await until(
      async () => (all.some(alive) ? undefined : true),
      40_000,
      `every process to stop: ${all.filter(alive).join(', ')}\n${stdout}`,
    );
    const order = ['[mcb] stopping…', '[mcb] apps stopped', '[mcb] redis stopped', '[mcb] postgres stopped', '[mcb] stopped.'];
    const at = order.map((line) => stdout.indexOf(line));
    expect(
      at.every((i) => i >= 0),
      stdout,
    ).toBe(true);
    expect([...at].sort((a, b) => a - b)).toEqual(at);
    expect(existsSync(join(dataDir, 'pg', 'postmaster.pid'))).toBe(false);
    for (const port of Object.values(ports)) {
      await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow();
    }
  });

  // Operator walk, stop 32: a closed terminal (SIGHUP to the whole process group) killed every process at
  // once and left Postgres and Redis running; the next npm start then refused to start, printing a pg_ctl
  // command that fails as root. Review, stop 33: under bash as npm's script shell, the end of the shell
  // that ran `npm start &` stopped it; and a real terminal closing (every write then fails EIO) left the
  // apps spinning on their logs and Postgres and Redis running.
  it('started in the background by a shell that exits, it runs on; killed outright, it is started again over what it left; a closed terminal then stops it cleanly', async () => {
    let out = '';
    const ready = async (what: string) =>
      until(async () => (out.includes('MCB is ready.') ? true : undefined), 120_000, `${what} to say ready:\n${out}`);
    const leftOf = () => ({
      postgres: Number(readFileSync(join(dataDir, 'pg', 'postmaster.pid'), 'utf8').split('\n')[0]),
      redis: Number(readFileSync(join(dataDir, 'redis', 'redis.pid'), 'utf8')),
    });

    // `npm start &` from a shell that ends a moment later; bash execs npm's script (no `sh -c` between).
    const launcher = spawn('bash', ['-c', 'npm start & echo "npm pid $!"; sleep 3'], {
      cwd: root,
      env: { ...env, npm_config_script_shell: '/bin/bash' },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    for (const stream of [launcher.stdout, launcher.stderr]) stream?.on('data', (chunk: Buffer) => (out += chunk.toString()));
    await ready('npm start in the background');
    const npmPid = Number(/npm pid (\d+)/.exec(out)?.[1]);
    const killed = { tree: [npmPid, ...descendants(npmPid)], ...leftOf() };
    started = killed;
    expect(alive(launcher.pid as number)).toBe(false);
    await new Promise((resolve) => setTimeout(resolve, 1_500)); // the bootstrap's watch looks every 500 ms
    expect(out).not.toContain('[mcb] stopping');
    expect(killed.tree.every(alive)).toBe(true);

    // The supervisor killed outright: the apps stop by themselves (they ran on as orphans, holding their
    // ports and taking the next npm start's jobs); Postgres and Redis are left for the next start.
    const supervisor = killed.tree.find((pid) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('infra/dev/start.ts'));
    process.kill(supervisor as number, 'SIGKILL');
    const rest = killed.tree.filter(
      (pid) => pid !== killed.redis && pid !== killed.postgres && !descendants(killed.postgres).includes(pid),
    );
    await until(async () => (rest.some(alive) ? undefined : true), 20_000, `every app to end: ${rest.filter(alive).join(' ')}`);
    expect([killed.postgres, killed.redis].every(alive)).toBe(true);

    // Again, in a terminal of its own (a pty: `script`), as a developer runs it.
    out = '';
    const terminal = spawn('script', ['-qfec', 'npm start', '/dev/null'], {
      cwd: root,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    for (const stream of [terminal.stdout, terminal.stderr]) stream?.on('data', (chunk: Buffer) => (out += chunk.toString()));
    await ready('npm start in a terminal');
    const again = { tree: descendants(terminal.pid as number), ...leftOf() };
    started = again;
    expect(out).toContain('[mcb] stopped the embedded PostgreSQL an earlier npm start left running');
    expect(out).toContain(`[mcb] stopped a redis-server left running by an earlier npm start (pid ${killed.redis})`);
    expect([killed.postgres, killed.redis].some(alive)).toBe(false);

    // The terminal closes: its processes get SIGHUP, and every write to it fails from then on.
    process.kill(terminal.pid as number, 'SIGKILL');
    const all = [...again.tree, again.postgres, again.redis];
    await until(async () => (all.some(alive) ? undefined : true), 40_000, `every process to stop: ${all.filter(alive).join(' ')}`);
    // Stopped, not killed: Postgres shut down cleanly and the claim on the checkout was given up.
    expect(existsSync(join(dataDir, 'pg', 'postmaster.pid'))).toBe(false);
    expect(existsSync(join(dataDir, 'start.pid'))).toBe(false);
  }, 300_000);
});
