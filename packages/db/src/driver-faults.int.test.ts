import net from 'node:net';
import { freeLoopbackPort, testEnv } from '@mcb/testing';
import postgres from 'postgres';
import { afterAll, describe, expect, it } from 'vitest';
import { createDatabase, type Database } from './client';

// postgres.js 3.4.9 defects that left a query, a reservation or a pooled connection waiting forever
// once a backend was terminated (pg_terminate_backend, a restart, a proxy dropping the socket). The
// worker stopped taking jobs after such a storm (issue 11). Each case is fixed in
// patches/postgres@3.4.9.patch and proven here alone, with the pools the apps use (createDatabase).
// Every case terminates only backends it opened itself (by pid).

const { databaseUrl } = testEnv();
const killer = postgres(databaseUrl, { max: 1, onnotice: () => {} });
const pools: Database[] = [];
afterAll(async () => {
  await Promise.all(pools.map((p) => p.close()));
  await killer.end({ timeout: 1 });
});

function pool(max: number, url = databaseUrl): Database {
  const p = createDatabase({ url, role: 'owner', max, applicationName: 'mcb-driver-faults' });
  pools.push(p);
  return p;
}

/** The promise's outcome, or 'pending' if it has not settled within `ms` (a hang, the defect). */
async function outcome(p: PromiseLike<unknown>, ms = 3_000): Promise<string> {
  return Promise.race([
    Promise.resolve(p).then(
      () => 'ok',
      (e: { code?: string; message?: string }) => `rejected ${e.code ?? e.message}`,
    ),
    new Promise<string>((r) => setTimeout(() => r('pending'), ms)),
  ]);
}

async function terminate(pid: number) {
  await killer`select pg_terminate_backend(${pid})`;
  // The close reaches the client asynchronously; wait until the backend is gone.
  for (let i = 0; i < 50; i++) {
    const [row] = await killer<{ n: number }[]>`select count(*)::int as n from pg_stat_activity where pid = ${pid}`;
    if (row?.n === 0) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  await new Promise((r) => setTimeout(r, 50));
}

const pidOf = async (q: postgres.Sql | postgres.ReservedSql | postgres.TransactionSql) =>
  ((await q<{ pid: number }[]>`select pg_backend_pid() as pid`)[0] as { pid: number }).pid;

describe('postgres.js after a backend is terminated (patches/postgres@3.4.9.patch)', () => {
  it('a reserved connection: later queries reject at once; release() leaves the pool working (#1208, #1199)', async () => {
    const { sql } = pool(1);
    const reserved = await sql.reserve();
    await terminate(await pidOf(reserved));
    // Unpatched: a TypeError from a setImmediate killed the process; guarded by a drop only: pending forever.
    expect(await outcome(reserved`select 1`)).toBe('rejected CONNECTION_CLOSED');
    expect(await outcome(reserved`select 2`)).toBe('rejected CONNECTION_CLOSED');
    reserved.release();
    // Unpatched, release() put the dead connection in the open queue and these never settled.
    for (let i = 0; i < 3; i++) expect(await outcome(sql`select ${i}::int`)).toBe('ok');
    const again = await sql.reserve();
    expect(await outcome(again`select 1`)).toBe('ok');
    again.release();
  });

  it('a stale reserved or transaction handle never runs on the reconnected connection of another caller (#1186)', async () => {
    const { sql } = pool(1);
    const reserved = await sql.reserve();
    await terminate(await pidOf(reserved));
    // The pool reconnects the same connection for a new caller (max 1)...
    const fresh = await pidOf(sql);
    // ...and the old handle must not reach it.
    expect(await outcome(reserved`select pg_backend_pid()`)).toBe('rejected CONNECTION_CLOSED');
    reserved.release();

    let stale = '';
    const tx = sql.begin(async (t) => {
      await terminate(await pidOf(t));
      await t`select 1`.catch(() => {});
      await pidOf(sql);
      stale = await outcome(t`select pg_backend_pid()`);
    });
    expect(await outcome(tx)).toBe('rejected CONNECTION_CLOSED');
    for (let i = 0; i < 50 && stale === ''; i++) await new Promise((r) => setTimeout(r, 50));
    expect(stale).toBe('rejected CONNECTION_CLOSED');
    expect(await pidOf(sql)).not.toBe(fresh);
  });

  it('a reserve queued behind a connection whose backend is terminated gets the reconnected one (#1195)', async () => {
    const { sql } = pool(1);
    const first = await sql.reserve();
    const queued = sql.reserve();
    await terminate(await pidOf(first));
    expect(await outcome(queued)).toBe('ok');
    const second = await queued;
    expect(await outcome(second`select 1`)).toBe('ok');
    first.release();
    second.release();
    expect(await outcome(sql`select 1`)).toBe('ok');
  });

  it('a reserve whose connect failed never takes a connection later (it would be held by nobody)', async () => {
    const proxy = await forwarder();
    try {
      const { sql } = pool(2, proxy.url);
      const busy = sql`select pg_sleep(0.5)`;
      await new Promise((r) => setTimeout(r, 100));
      proxy.refuse();
      // The second connection's connect is refused: the reserve rejects...
      expect(await outcome(sql.reserve())).toMatch(/^rejected ECONNREFUSED/);
      await proxy.accept();
      await busy;
      // ...and must not be handed a connection afterwards: both can still be reserved.
      const both = Promise.all([sql.reserve(), sql.reserve()]);
      expect(await outcome(both, 5_000)).toBe('ok');
      for (const r of await both) r.release();
    } finally {
      proxy.close();
    }
  });

  it("a statement sent between a reset socket's error and its close rejects (a rollback in a catch)", async () => {
    const proxy = await forwarder();
    try {
      const { sql } = pool(1, proxy.url);
      const reserved = await sql.reserve();
      let rollback = Promise.resolve('not sent');
      const failed = reserved`select pg_sleep(5)`.catch((err: { code?: string }) => {
        // Runs right after the socket's 'error' event, before its 'close' (the applier's catch).
        rollback = outcome(reserved`rollback`);
        return err.code;
      });
      await new Promise((r) => setTimeout(r, 100));
      proxy.reset();
      expect(await failed).toBe('ECONNRESET');
      // Unpatched, closed(hadError) skipped the statements sent meanwhile: this one never settled.
      expect(await rollback).toBe('rejected CONNECTION_CLOSED');
      reserved.release();
      expect(await outcome(sql`select 1`)).toBe('ok');
    } finally {
      proxy.close();
    }
  });
});

/**
 * A TCP forwarder to Postgres that a test can make refuse new connections (ECONNREFUSED) or reset
 * the ones it carries (RST, as a backend killed under load often looks on Linux).
 */
async function forwarder() {
  const port = await freeLoopbackPort();
  const target = new URL(databaseUrl);
  const clients = new Set<net.Socket>();
  const upstreams = new Set<net.Socket>();
  let server: net.Server | null = null;
  const track = (set: Set<net.Socket>, s: net.Socket) => {
    set.add(s);
    s.on('error', () => {});
    s.on('close', () => set.delete(s));
  };
  const accept = () =>
    new Promise<void>((resolve) => {
      server = net.createServer((client) => {
        const upstream = net.connect(Number(target.port || 5432), target.hostname);
        track(clients, client);
        track(upstreams, upstream);
        client.pipe(upstream).pipe(client);
      });
      server.listen(port, '127.0.0.1', () => resolve());
    });
  await accept();
  const url = new URL(databaseUrl);
  url.host = `127.0.0.1:${port}`;
  return {
    url: url.toString(),
    accept,
    // close() stops accepting at once (its callback would wait for the piped connections to end).
    refuse: () => void server?.close(),
    reset: () => {
      for (const s of clients) s.resetAndDestroy();
      for (const s of upstreams) s.destroy();
    },
    close: () => {
      server?.close();
      for (const s of [...clients, ...upstreams]) s.destroy();
    },
  };
}
