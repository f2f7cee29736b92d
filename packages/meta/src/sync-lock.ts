import { createHash } from 'node:crypto';
import { type Logger, McbError } from '@mcb/core';
import type { Database } from '@mcb/db';
import type { ReservedSql, Sql } from 'postgres';
import { MetaSyncAlreadyRunning } from './errors';

/** Fixed namespace of the sync locks' keys: nothing else in the deployment derives a lock key from it. */
const lockNamespace = 'mcb.meta.sync';

/**
 * Advisory-lock key of one tenant's Meta sync: a signed 64-bit hash of `mcb.meta.sync|<tenant id>`, as a
 * decimal string (`pg_try_advisory_lock(bigint)`) — derived the way @mcb/contacts derives its identity keys,
 * so the two never meet but by a 64-bit hash collision.
 */
export function metaSyncLockKey(tenantId: string): string {
  return createHash('sha1').update(`${lockNamespace}|${tenantId}`).digest().readBigInt64BE(0).toString();
}

/** A tenant's sync lock held by this process (`withMetaSyncLock`); `held` turns false once released. */
export interface MetaSyncLock {
  readonly tenantId: string;
  readonly slug: string;
  readonly held: boolean;
}

// postgres.js codes of a connection that is gone: its session, and every lock it held, ended with it.
const isConnectionGone = (err: unknown) => String((err as { code?: unknown } | null)?.code ?? '').startsWith('CONNECTION_');

/**
 * The Postgres session holding one pool's sync locks: ONE reserved connection however many syncs this
 * process runs, reserved with the first lock and handed back to the pool with the last, after
 * `pg_advisory_unlock_all()` (a pooled connection still holding a session lock would keep it for whoever
 * got it next). A connection per sync would let a worker running more syncs at once (its meta concurrency,
 * 20) than its pool has connections (10) reserve the whole pool, leaving none for the syncs' own writes —
 * nor for the webhook jobs sharing it. Session locks are re-entrant within a session, so the keys held
 * here are also kept in `held`: a second sync of a tenant in this process is refused before Postgres is asked.
 */
class LockSession {
  private conn: ReservedSql | null = null;
  private readonly held = new Set<string>();
  private tail: Promise<unknown> = Promise.resolve();

  constructor(private readonly pool: Sql) {}

  /** Runs `step` once every step queued before it has settled: reserve, lock, unlock and release never interleave. */
  private serial<T>(step: () => Promise<T>): Promise<T> {
    const run = this.tail.then(step);
    this.tail = run.catch(() => {});
    return run;
  }

  /** Takes `key` without waiting: false when this process or another session holds it. */
  async tryLock(key: string, log?: Logger): Promise<boolean> {
    if (this.held.has(key)) return false;
    this.held.add(key);
    let locked = false;
    try {
      locked = await this.serial(async () => {
        this.conn ??= await this.reserve();
        try {
          const [row] = await this.conn<{ ok: boolean }[]>`select pg_try_advisory_lock(${key}::int8) as ok`;
          return row?.ok === true;
        } catch (err) {
          this.dropIfGone(err, key, log);
          throw err;
        }
      });
      return locked;
    } finally {
      if (!locked) await this.unlock(key, log, false);
    }
  }

  /** Releases `key` (no-op when not held here). Never throws: a failure is logged, and the session settles. */
  async unlock(key: string, log?: Logger, wasLocked = true): Promise<void> {
    if (!this.held.delete(key)) return;
    await this.serial(async () => {
      if (!this.conn) return;
      if (wasLocked && this.held.size > 0)
        try {
          await this.conn`select pg_advisory_unlock(${key}::int8)`;
        } catch (err) {
          this.dropIfGone(err, key, log);
          log?.warn({ err: (err as Error).message }, 'meta sync lock: unlock failed');
        }
      await this.settle(log);
    });
  }

  /**
   * A connection of the pool for the locks. A machine that vanishes (power cut, network gone) sends no
   * FIN: Postgres frees its locks only once TCP keepalives give up, ~2 h 11 min with Linux defaults.
   * This session's keepalives give up after ~1 min (30 s idle, then 3 probes 10 s apart).
   */
  private async reserve(): Promise<ReservedSql> {
    const conn = await this.pool.reserve();
    try {
      await conn`select set_config('tcp_keepalives_idle', '30', false), set_config('tcp_keepalives_interval', '10', false),
                        set_config('tcp_keepalives_count', '3', false)`;
    } catch (err) {
      conn.release();
      throw err;
    }
    return conn;
  }

  /** With no key held: unlock everything and give the connection back, or keep it (and retry next time) if that failed. */
  private async settle(log?: Logger): Promise<void> {
    const conn = this.conn;
    if (!conn || this.held.size > 0) return;
    try {
      await conn`select pg_advisory_unlock_all()`;
      await Promise.all([conn`reset tcp_keepalives_idle`, conn`reset tcp_keepalives_interval`, conn`reset tcp_keepalives_count`]);
    } catch (err) {
      if (!isConnectionGone(err)) {
        log?.warn({ err: (err as Error).message }, 'meta sync lock: unlock failed; connection kept out of the pool');
        return;
      }
    }
    this.conn = null;
    conn.release();
  }

  /** A lost connection took its locks with it: forget it (the next lock reserves another). */
  private dropIfGone(err: unknown, key: string, log?: Logger): void {
    if (!this.conn || !isConnectionGone(err)) return;
    const others = [...this.held].filter((k) => k !== key).length;
    if (others) log?.warn({ syncs: others }, 'meta sync lock: connection lost; syncs running in this process no longer hold their lock');
    this.conn.release();
    this.conn = null;
  }
}

const sessions = new WeakMap<Sql, LockSession>();

function sessionOf(database: Database): LockSession {
  let session = sessions.get(database.sql);
  if (!session) {
    session = new LockSession(database.sql);
    sessions.set(database.sql, session);
  }
  return session;
}

/**
 * Runs `fn` holding the tenant's Meta sync lock, and releases it when `fn` settles (returns or throws).
 * One sync per tenant at a time across processes and machines: a Postgres session advisory lock
 * (`metaSyncLockKey`), taken without waiting — when another sync holds it, throws `MetaSyncAlreadyRunning`
 * and `fn` does not run. The lock lives in a Postgres session, so a process that dies (crash, kill -9)
 * releases it with its connection, and a machine that vanishes within about a minute (TCP keepalives);
 * nothing needs to expire. `database` is the pool the sync writes
 * with: the locks of all its syncs share one of its connections for as long as any runs (it needs max ≥ 2).
 * If that connection itself drops mid-sync, Postgres frees the lock and another sync may start beside this
 * one; that is logged only when another lock step of this process meets the dead connection (the sync
 * itself does not notice). Upserts keep the rows right; only API budget is spent twice.
 */
export async function withMetaSyncLock<T>(
  database: Database,
  tenant: { tenantId: string; slug: string },
  fn: (lock: MetaSyncLock) => Promise<T>,
  log?: Logger,
): Promise<T> {
  // The lock holds one of the pool's connections for the whole sync: with a pool of 1, the sync's own
  // writes (and every other query of the process) would wait for it forever.
  const max = (database.sql.options as { max?: number }).max ?? 10;
  if (max < 2)
    throw new McbError('invalid_config', `A Meta sync needs a database pool of at least 2 connections (DATABASE_POOL_MAX is ${max})`);
  const session = sessionOf(database);
  const key = metaSyncLockKey(tenant.tenantId);
  if (!(await session.tryLock(key, log))) throw new MetaSyncAlreadyRunning(tenant);
  const lock = { tenantId: tenant.tenantId, slug: tenant.slug, held: true };
  try {
    return await fn(lock);
  } finally {
    lock.held = false;
    await session.unlock(key, log);
  }
}
