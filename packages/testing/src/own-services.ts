import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { pollUntil } from './poll';
import { freeLoopbackPort } from './ports';

// Fault tests stop, kill and restart Redis or Postgres. They never touch the shared servers other
// test files use: each starts its own on a spare loopback port, and stops it by itself.

async function waitFor(what: string, check: () => Promise<boolean>, ms = 20_000): Promise<void> {
  const up = await pollUntil(
    () => check().catch(() => false),
    (ok) => ok,
    { timeoutMs: ms },
  );
  if (!up) throw new Error(`${what} did not come up within ${ms} ms`);
}

export interface OwnRedis {
  url: string;
  port: number;
  /** SIGKILL: a crash. With no persistence, the restart is empty. */
  kill: () => Promise<void>;
  /** Starts it again on the same port (empty: no persistence). */
  start: () => Promise<void>;
  /** Stops it for good. */
  close: () => Promise<void>;
}

/** A `redis-server` of the test's own, no persistence, on a spare port (fails loudly if redis-server is missing). */
export async function startOwnRedis(): Promise<OwnRedis> {
  const port = await freeLoopbackPort();
  const url = `redis://127.0.0.1:${port}`;
  let child: ChildProcess | null = null;
  const ping = async () => {
    const r = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    r.on('error', () => {});
    try {
      await r.connect();
      return (await r.ping()) === 'PONG';
    } finally {
      r.disconnect();
    }
  };
  const start = async () => {
    child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
      stdio: 'ignore',
    });
    child.on('error', (err) => {
      throw new Error(`redis-server could not start (${err.message}): install it (apt-get install redis-server)`);
    });
    await waitFor(`redis-server on ${port}`, ping);
  };
  const kill = async () => {
    const c = child;
    child = null;
    if (!c || c.exitCode !== null) return;
    await new Promise((r) => {
      c.once('exit', r);
      c.kill('SIGKILL');
    });
  };
  await start();
  return { url, port, kill, start, close: kill };
}

export interface OwnPostgres {
  /** Superuser URL of database `postgres` on the cluster. */
  url: string;
  port: number;
  /** `pg_ctl stop` (`fast`: what an operator or a crash-restart does; `immediate`: a crash). */
  stop: (mode?: 'fast' | 'immediate') => Promise<void>;
  start: () => Promise<void>;
  /** Stops it and removes its data directory. */
  close: () => Promise<void>;
}

function pgBin(name: string): string {
  const base = '/usr/lib/postgresql';
  const versions = existsSync(base) ? readdirSync(base).sort((a, b) => Number(b) - Number(a)) : [];
  for (const v of versions) {
    const p = join(base, v, 'bin', name);
    if (existsSync(p)) return p;
  }
  throw new Error(`${name} not found under ${base}: install PostgreSQL (apt-get install postgresql)`);
}

/**
 * A Postgres cluster of the test's own (initdb into a temp folder, trust auth, spare port). As root it
 * runs as the `postgres` user (Postgres refuses root), in a folder that user owns.
 */
export async function startOwnPostgres(): Promise<OwnPostgres> {
  const port = await freeLoopbackPort();
  const dir = mkdtempSync(join(tmpdir(), 'mcb-own-pg-'));
  const data = join(dir, 'data');
  const asRoot = process.getuid?.() === 0;
  chmodSync(dir, 0o777);
  const run = (bin: string, args: string[]) => {
    const cmd = pgBin(bin);
    if (asRoot) execFileSync('su', ['postgres', '-s', '/bin/sh', '-c', [cmd, ...args].map((a) => `'${a}'`).join(' ')], { stdio: 'pipe' });
    else execFileSync(cmd, args, { stdio: 'pipe' });
  };
  run('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync']);
  const opts = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200`;
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  const start = async () => {
    run('pg_ctl', ['-D', data, '-o', opts, '-l', join(dir, 'log'), '-w', 'start']);
  };
  const stop = async (mode: 'fast' | 'immediate' = 'fast') => {
    run('pg_ctl', ['-D', data, '-m', mode, '-w', 'stop']);
  };
  await start();
  return {
    url,
    port,
    stop,
    start,
    close: async () => {
      await stop('immediate').catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
