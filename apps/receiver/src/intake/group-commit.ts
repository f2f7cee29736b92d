import { type Logger, withTimeout } from '@mcb/core';
import { type Database, send, settle } from '@mcb/db';
import type { WebhookEnqueuer, WebhookJobRef } from '@mcb/queue';
import postgres, { type ReservedSql, type Sql, type TransactionSql } from 'postgres';
import type { ReceiverMetrics } from '../metrics';

/** One `webhook_logs` row to write. JSON columns travel as text (exact body text, no re-serialising). */
export interface IntakeRow {
  tenantId: string;
  source: string;
  eventType: string | null;
  dedupeKey: string;
  /** JSON text of the redacted headers. */
  headers: string;
  /** JSON text for `payload` (already safe for jsonb), or null. */
  payload: string | null;
  /** Exact body bytes (`bytea`) when `payload` is not the exact body; a prefix for rejected rows. */
  rawBody: Uint8Array | null;
  /** `received` (accepted: a job follows), `failed` (accepted but unprocessable), `rejected`. */
  status: 'received' | 'failed' | 'rejected';
  errorMessage: string | null;
  /** The request span's serialized trace context, handed to the row's job (only when tracing is on). */
  trace?: string;
}

/** What the request learns once its row is committed. */
export interface IntakeResult {
  /** Log id; for a duplicate, the id of the row seen before. */
  id: number | null;
  duplicate: boolean;
  /** Set when Postgres refused the row as built and it was stored in its raw form instead (status `failed`). */
  storedRaw?: boolean;
}

export interface GroupCommitOptions {
  /** How long the first request of a batch waits for others (ms; 0 = next tick). */
  windowMs: number;
  /** Most rows in one transaction. */
  maxRows: number;
  /** Most transactions in flight; further requests gather into the next batch meanwhile. */
  maxConcurrent: number;
  /** Most requests waiting for a transaction slot; past it a request fails at once (Postgres is not keeping up). */
  maxPending: number;
  /**
   * Longest a request waits for its transaction to START (a free slot and a connection); past it the
   * request fails (503) and its row is never written. Postgres down or stuck → answers within this.
   */
  maxWaitMs: number;
  /**
   * Longest a request waits in all (start + commit): past it the request fails (503) even if its
   * transaction is still running — a late commit only makes the provider's retry a duplicate.
   * Postgres stopping mid-transaction must not hold a provider for longer (SPEC §3: 503 within 2 s).
   */
  maxTotalMs: number;
  /** Longest a started transaction may hold its slot before its requests fail. */
  commitTimeoutMs: number;
  /** Bound on one `addBulk`; past it the jobs are left to the reconciler. */
  enqueueTimeoutMs: number;
  /** Most jobs waiting to be enqueued after their commit; past it new ones are left to the reconciler. */
  maxEnqueueBacklog: number;
}

export const defaultGroupCommitOptions: GroupCommitOptions = {
  windowMs: 1,
  maxRows: 500,
  maxConcurrent: 4,
  maxPending: 20_000,
  maxWaitMs: 1_500,
  maxTotalMs: 1_900,
  commitTimeoutMs: 10_000,
  enqueueTimeoutMs: 2_000,
  maxEnqueueBacklog: 50_000,
};

interface Pending {
  row: IntakeRow;
  /** performance.now() past which it may no longer start. */
  deadline: number;
  resolve: (r: IntakeResult) => void;
  reject: (err: unknown) => void;
}

interface Committed {
  /** Per pending item, in batch order. */
  results: IntakeResult[];
  fresh: WebhookJobRef[];
}

/**
 * An error caused by one row's content (a value Postgres refuses: data exception 22xxx, integrity
 * 23xxx, program limit 54xxx such as "stack depth limit exceeded" or an oversized index row). It
 * must not fail the rows batched with it: the batch is split and each row answered alone.
 */
export function isRowDataError(err: unknown): boolean {
  const code = (err as { code?: unknown })?.code;
  return (
    // `instanceof`, not the error's name: the compiled receiver is bundled without esbuild's keepNames.
    err instanceof postgres.PostgresError &&
    typeof code === 'string' &&
    (code.startsWith('22') || code.startsWith('23') || code.startsWith('54'))
  );
}

/** Thrown to a request that could not get its transaction started (too many waiting, or waited too long). */
export class IntakeOverloaded extends Error {}

const groupBy = <T>(items: T[], key: (t: T) => string) => {
  const out = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const list = out.get(k);
    if (list) list.push(item);
    else out.set(k, [item]);
  }
  return out;
};

/**
 * Group commit for intake (ADR 0001, ADR 0010): concurrent requests are gathered for `windowMs` (or
 * until `maxRows`) into ONE transaction, sent in one round trip, that writes every row with one
 * multi-row INSERT per tenant (`app.tenant_id` set per tenant: the pool is `mcb_app` under RLS).
 * Accepted rows use `ON CONFLICT (tenant_id, source, dedupe_key) WHERE status <> 'rejected' DO NOTHING`
 * and the ids of existing rows are looked up for duplicates. Each request is answered as soon as its
 * row is committed; the new rows' jobs then go out in the background (`addBulk` per tenant queue,
 * coalesced across batches). A job that never reaches the queue is re-enqueued by the reconciler
 * (SPEC §10.4), so the receiver never writes a row twice. A row Postgres refuses fails only itself:
 * the batch is split and retried row by row, and an accepted row still refused is stored raw as
 * `failed`. A transaction that fails for any other reason (Postgres down) rejects its requests.
 */
export class GroupCommitter {
  private pending: Pending[] = [];
  private timer: NodeJS.Timeout | NodeJS.Immediate | null = null;
  private inFlight = 0;
  private readonly tasks = new Set<Promise<unknown>>();
  private readonly options: GroupCommitOptions;
  private enqueueBacklog: WebhookJobRef[] = [];
  private enqueueRunning = false;
  private lastEnqueueWarning = 0;
  private deadlineTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly deps: {
      database: Database;
      enqueuer: WebhookEnqueuer;
      queueReady: () => boolean;
      metrics: ReceiverMetrics;
      log: Logger;
    },
    options: Partial<GroupCommitOptions> = {},
  ) {
    this.options = { ...defaultGroupCommitOptions, ...options };
  }

  /** Writes `row` with whatever else arrives meanwhile; resolves once it is committed. */
  submit(row: IntakeRow): Promise<IntakeResult> {
    if (this.pending.length >= this.options.maxPending)
      return Promise.reject(new IntakeOverloaded('intake overloaded: too many requests waiting for Postgres'));
    this.watchDeadlines();
    const result = new Promise<IntakeResult>((resolve, reject) => {
      this.pending.push({ row, resolve, reject, deadline: performance.now() + this.options.maxWaitMs });
      if (this.pending.length >= this.options.maxRows) this.kick();
      else if (!this.timer) {
        this.timer = this.options.windowMs > 0 ? setTimeout(() => this.kick(), this.options.windowMs) : setImmediate(() => this.kick());
      }
    });
    return withTimeout(result, this.options.maxTotalMs, 'commit');
  }

  /**
   * Fails the requests that waited past their deadline without their transaction starting (pending is
   * FIFO, so they are at its head). Runs every 100 ms while anything is pending.
   */
  private watchDeadlines(): void {
    if (this.deadlineTimer) return;
    this.deadlineTimer = setInterval(() => {
      const now = performance.now();
      let expired = 0;
      while (expired < this.pending.length && (this.pending[expired] as Pending).deadline <= now) expired++;
      for (const p of this.pending.splice(0, expired)) {
        p.reject(new IntakeOverloaded(`no Postgres transaction started within ${this.options.maxWaitMs} ms`));
      }
      if (this.pending.length === 0 && this.deadlineTimer) {
        clearInterval(this.deadlineTimer);
        this.deadlineTimer = null;
      }
    }, 100);
    this.deadlineTimer.unref();
  }

  /** Jobs committed but not yet handed to the queue. */
  get enqueueBacklogSize(): number {
    return this.enqueueBacklog.length;
  }

  /** Flushes what is pending and waits for every batch and background enqueue (graceful shutdown). */
  async drain(): Promise<void> {
    this.kick();
    while (this.tasks.size > 0 || this.pending.length > 0) {
      await Promise.allSettled([...this.tasks]);
      this.kick();
    }
  }

  private track<T>(p: Promise<T>): Promise<T> {
    this.tasks.add(p);
    void p.finally(() => this.tasks.delete(p)).catch(() => {});
    return p;
  }

  private kick(): void {
    if (this.timer) {
      clearTimeout(this.timer as NodeJS.Timeout);
      clearImmediate(this.timer as NodeJS.Immediate);
      this.timer = null;
    }
    while (this.pending.length > 0 && this.inFlight < this.options.maxConcurrent) {
      const batch = this.pending.splice(0, this.options.maxRows);
      this.inFlight += 1;
      this.track(
        this.flush(batch).finally(() => {
          this.inFlight -= 1;
          // Requests that gathered while every slot was busy go out at once: under load the batch
          // size grows with the commit latency instead of adding a window per request.
          if (this.pending.length > 0) this.kick();
        }),
      );
    }
  }

  private async flush(batch: Pending[]): Promise<void> {
    this.deps.metrics.batchSize.observe(batch.length);
    let committed: Committed;
    const t0 = performance.now();
    try {
      committed = await withTimeout(this.commit(batch.map((p) => p.row)), this.options.commitTimeoutMs, 'group commit');
      this.deps.metrics.batchPhase.observe({ phase: 'commit' }, (performance.now() - t0) / 1000);
    } catch (err) {
      if (!isRowDataError(err)) {
        for (const p of batch) p.reject(err);
        return;
      }
      // One row's content was refused: write the batch again row by row inside ONE transaction, each
      // row under its own savepoint, so only that row is affected and the batch still costs one fsync.
      this.deps.log.warn({ err: (err as Error).message, rows: batch.length }, 'group commit: a row was refused, isolating it');
      try {
        committed = await this.commitIsolated(batch.map((p) => p.row));
      } catch (err2) {
        for (const p of batch) p.reject(err2);
        return;
      }
    }
    batch.forEach((p, i) => {
      p.resolve(committed.results[i] as IntakeResult);
    });
    if (committed.fresh.length > 0) this.scheduleEnqueue(committed.fresh);
  }

  /** Hands committed jobs to the queue in the background, coalescing batches into few `addBulk`s. */
  private scheduleEnqueue(refs: WebhookJobRef[]): void {
    if (this.enqueueBacklog.length + refs.length > this.options.maxEnqueueBacklog) {
      this.leftToReconciler(refs.length, 'enqueue backlog full');
      return;
    }
    for (const r of refs) this.enqueueBacklog.push(r);
    if (!this.enqueueRunning) this.track(this.runEnqueue());
  }

  private async runEnqueue(): Promise<void> {
    this.enqueueRunning = true;
    try {
      while (this.enqueueBacklog.length > 0) {
        const refs = this.enqueueBacklog.splice(0, this.options.maxRows);
        if (!this.deps.queueReady()) {
          this.leftToReconciler(refs.length + this.enqueueBacklog.length, 'queue not ready');
          this.enqueueBacklog = [];
          return;
        }
        const t = performance.now();
        try {
          await withTimeout(this.deps.enqueuer.enqueue(refs), this.options.enqueueTimeoutMs, 'enqueue');
          this.deps.metrics.batchPhase.observe({ phase: 'enqueue' }, (performance.now() - t) / 1000);
        } catch (err) {
          this.leftToReconciler(refs.length, (err as Error).message);
        }
      }
    } finally {
      this.enqueueRunning = false;
    }
  }

  private leftToReconciler(jobs: number, why: string): void {
    this.deps.metrics.enqueueFailures.inc(jobs);
    const now = Date.now();
    if (now - this.lastEnqueueWarning > 10_000) {
      this.lastEnqueueWarning = now;
      this.deps.log.warn({ jobs, why }, 'jobs not enqueued; the reconciler will enqueue them');
    }
  }

  /**
   * One transaction in ONE round trip: BEGIN, per tenant `set_config(app.tenant_id)` + one multi-row
   * INSERT, and COMMIT are pipelined on a reserved connection. If any statement fails, the rest fail
   * as "transaction aborted" and the COMMIT rolls back, so the batch is all or nothing. Ids of
   * duplicates are looked up after the commit (the conflicting rows are committed by then: ON
   * CONFLICT waited for them).
   */
  private async commit(rows: IntakeRow[]): Promise<Committed> {
    const results: Committed['results'] = rows.map(() => ({ id: null, duplicate: false }));
    const fresh: WebhookJobRef[] = [];
    const indexed = rows.map((row, index) => ({ row, index }));
    const byTenant = groupBy(indexed, (x) => x.row.tenantId);
    const inserts: Array<{ tenantId: string; items: typeof indexed; rows: Promise<InsertedRow[]> }> = [];
    await inOneRoundTrip(this.deps.database.sql, (tx) => {
      const statements: Array<Promise<unknown>> = [];
      for (const [tenantId, items] of byTenant) {
        statements.push(send(setTenant(tx, tenantId)));
        const chunks = insertRows(
          tx,
          tenantId,
          items.map((x) => x.row),
        ).map((q) => send(q));
        statements.push(...chunks);
        // Read only after the commit succeeded; a failure is thrown by `settle`, not from here.
        const inserted = insertedRows(chunks);
        inserted.catch(() => {});
        inserts.push({ tenantId, items, rows: inserted });
      }
      return statements;
    });
    const lookups: Array<{ tenantId: string; missing: typeof indexed }> = [];
    for (const { tenantId, items, rows: insertedP } of inserts) {
      const inserted = await insertedP;
      // Rejected rows never conflict (the unique index covers accepted rows only): RETURNING keeps their order.
      const rejectedIds = inserted.filter((r) => r.status === 'rejected').map((r) => r.id);
      const newIds = new Map<string, InsertedRow>();
      for (const r of inserted) if (r.status !== 'rejected') newIds.set(`${r.source}\u0000${r.dedupe_key}`, r);
      const missing: typeof indexed = [];
      for (const x of items) {
        if (x.row.status === 'rejected') {
          results[x.index] = { id: rejectedIds.shift() ?? null, duplicate: false };
          continue;
        }
        const k = `${x.row.source}\u0000${x.row.dedupeKey}`;
        const row = newIds.get(k);
        if (row !== undefined) {
          // The first request with a key in this batch owns the new row; later ones are duplicates.
          newIds.delete(k);
          results[x.index] = { id: row.id, duplicate: false };
          if (row.status === 'received') fresh.push({ tenantId, logId: row.id, bytes: payloadBytes(x.row), trace: x.row.trace });
        } else missing.push(x);
      }
      if (missing.length > 0) lookups.push({ tenantId, missing });
    }
    await this.resolveDuplicates(lookups, results);
    return { results, fresh };
  }

  /**
   * The batch again, after a row of it was refused: one transaction, each row inserted under its own
   * savepoint. A refused accepted row is stored in its raw form instead (exact bytes, no payload,
   * `failed` with Postgres' reason, dedupe key derived from its own); a refused rejected row is
   * dropped (storing rejections is for operators only). Statements are sequential here (a failed
   * statement must be rolled back to its savepoint before the next), which is fine for a rare batch.
   */
  private async commitIsolated(rows: IntakeRow[]): Promise<Committed> {
    const results: Committed['results'] = rows.map(() => ({ id: null, duplicate: false }));
    const fresh: WebhookJobRef[] = [];
    const lookups: Array<{ tenantId: string; missing: Array<{ row: IntakeRow; index: number }> }> = [];
    await this.deps.database.sql.begin(async (tx) => {
      for (const [index, row] of rows.entries()) {
        await setTenant(tx, row.tenantId);
        let inserted: InsertedRow[];
        let storedRaw = false;
        try {
          inserted = await tx.savepoint((sp) => insertedRows(insertRows(sp, row.tenantId, [row])));
        } catch (err) {
          if (!isRowDataError(err) || row.status === 'rejected') {
            if (!isRowDataError(err)) throw err;
            continue;
          }
          this.deps.metrics.rowsStoredRaw.inc();
          this.deps.log.warn({ err: (err as Error).message, source: row.source }, 'group commit: row refused; stored raw as failed');
          inserted = await insertedRows(insertRows(tx, row.tenantId, [rawForm(row, (err as Error).message)]));
          storedRaw = true;
        }
        const first = inserted[0];
        if (first) {
          results[index] = storedRaw ? { id: first.id, duplicate: false, storedRaw } : { id: first.id, duplicate: false };
          if (first.status === 'received')
            fresh.push({ tenantId: row.tenantId, logId: first.id, bytes: payloadBytes(row), trace: row.trace });
        } else if (row.status !== 'rejected') {
          // A duplicate; a refused row's raw form has its own key, so it is looked up by that key.
          const key = storedRaw ? rawForm(row, '').dedupeKey : row.dedupeKey;
          lookups.push({ tenantId: row.tenantId, missing: [{ row: { ...row, dedupeKey: key }, index }] });
        }
      }
    });
    await this.resolveDuplicates(lookups, results);
    return { results, fresh };
  }

  /** Fills in the ids of rows that were duplicates of committed rows (one round trip for all tenants). */
  private async resolveDuplicates(
    lookups: Array<{ tenantId: string; missing: Array<{ row: IntakeRow; index: number }> }>,
    results: IntakeResult[],
  ): Promise<void> {
    if (lookups.length > 0) {
      const found: Array<Promise<InsertedRow[]>> = [];
      await inOneRoundTrip(this.deps.database.sql, (tx) => {
        const statements: Array<Promise<unknown>> = [];
        for (const { tenantId, missing } of lookups) {
          statements.push(send(setTenant(tx, tenantId)));
          const p = send(tx<InsertedRow[]>`
            select id, source, dedupe_key, status from webhook_logs
            where tenant_id = ${tenantId} and status <> 'rejected'
              and (source, dedupe_key) in (
                select * from unnest(${missing.map((x) => x.row.source)}::text[], ${missing.map((x) => x.row.dedupeKey)}::text[]))`);
          statements.push(p);
          found.push(p);
        }
        return statements;
      });
      for (const [i, { missing }] of lookups.entries()) {
        const existing = await (found[i] as Promise<InsertedRow[]>);
        const byKey = new Map(existing.map((r) => [`${r.source}\u0000${r.dedupe_key}`, r.id]));
        for (const x of missing) {
          const id = byKey.get(`${x.row.source}\u0000${x.row.dedupeKey}`);
          // Committed rows answer 200; a vanished conflicting row is an error the sender retries.
          if (id === undefined) throw new Error('group commit: conflicting webhook log not found');
          results[x.index] = { id, duplicate: true };
        }
      }
    }
  }
}

/** The raw form of a refused accepted row: exact bytes, no payload, `failed` with the database's reason. */
function rawForm(row: IntakeRow, reason: string): IntakeRow {
  return {
    ...row,
    eventType: null,
    payload: null,
    // A plain object body was kept only as its exact text in `payload`: that text becomes the raw bytes.
    rawBody: row.rawBody ?? (row.payload === null ? null : Buffer.from(row.payload, 'utf8')),
    dedupeKey: row.dedupeKey.startsWith('sha256:') ? `raw:${row.dedupeKey.slice(7)}` : `raw:${row.dedupeKey}`,
    status: 'failed',
    errorMessage: `invalid payload: stored raw, not processed: Postgres refused the parsed body (${reason})`,
  };
}

/**
 * Runs the statements `build` starts as one transaction in a single round trip: BEGIN, the
 * statements and COMMIT are pipelined on one reserved connection. After a failed statement Postgres
 * answers every later one with "transaction aborted" and turns the COMMIT into a rollback; the
 * first error is thrown.
 */
async function inOneRoundTrip(sql: Sql, build: (tx: ReservedSql) => Array<Promise<unknown>>): Promise<void> {
  const tx = await sql.reserve();
  try {
    const begin = send(tx`begin`);
    const statements = build(tx);
    const commit = send(tx`commit`);
    await settle([begin, ...statements, commit]);
  } finally {
    tx.release();
  }
}

type InsertedRow = { id: number; source: string; dedupe_key: string; status: string };

/** The stored payload's length (characters of its JSON text), handed to the job for the worker's memory budget. */
const payloadBytes = (row: IntakeRow): number => row.payload?.length ?? 0;

function setTenant(tx: ReservedSql | TransactionSql, tenantId: string) {
  return tx`select set_config('app.tenant_id', ${tenantId}, true)`;
}

/** Statement shapes: a chunk of rows is padded to the next of these sizes (one prepared plan each). */
const chunkShapes: readonly number[] = [1, 2, 4, 8, 16, 32, 64];
const maxChunk = chunkShapes[chunkShapes.length - 1] as number;
const columnsPerRow = 8;

/** `insert … select … from (values ($1::text, …, 1), …)` for `size` rows; padding rows (all null) are skipped. */
const insertSql = new Map(
  chunkShapes.map((size) => {
    const values = Array.from({ length: size }, (_, i) => {
      const p = (k: number) => `$${2 + i * columnsPerRow + k}`;
      return `(${p(0)}::text, ${p(1)}::text, ${p(2)}::text, ${p(3)}::text, ${p(4)}::text, ${p(5)}::bytea, ${p(6)}::text, ${p(7)}::text, ${i})`;
    }).join(', ');
    return [
      size,
      `insert into webhook_logs (tenant_id, source, event_type, dedupe_key, headers, payload, raw_body, status, error_message)
    select $1::uuid, r.source, r.event_type, r.dedupe_key, r.headers::jsonb, r.payload::jsonb, r.raw_body, r.status, r.error_message
    from (values ${values}) as r(source, event_type, dedupe_key, headers, payload, raw_body, status, error_message, ord)
    where r.source is not null
    order by r.ord
    on conflict (tenant_id, source, dedupe_key) where status <> 'rejected' do nothing
    returning id, source, dedupe_key, status`,
    ];
  }),
);

/**
 * The INSERTs for one tenant's rows: chunks of at most 64 rows, each one statement whose every value
 * is its own bind parameter — the body travels as it is, never escaped into an array literal in
 * JavaScript nor parsed out of one in Postgres. A chunk is padded to one of a few sizes, so a
 * connection prepares at most 7 plans. `ON CONFLICT … DO NOTHING` applies to accepted rows only
 * (rejected rows are outside the partial unique index), so duplicates are simply not returned; rows
 * come back in input order.
 */
function insertRows(tx: ReservedSql | TransactionSql, tenantId: string, rows: IntakeRow[]): Array<Promise<InsertedRow[]>> {
  const statements: Array<Promise<InsertedRow[]>> = [];
  for (let start = 0; start < rows.length; start += maxChunk) {
    const chunk = rows.slice(start, start + maxChunk);
    const size = chunkShapes.find((n) => n >= chunk.length) ?? maxChunk;
    const params: Array<string | Buffer | null> = [tenantId];
    for (let i = 0; i < size; i++) {
      const r = chunk[i];
      if (r === undefined) params.push(null, null, null, null, null, null, null, null);
      else {
        const raw = r.rawBody === null ? null : Buffer.from(r.rawBody.buffer, r.rawBody.byteOffset, r.rawBody.byteLength);
        params.push(r.source, r.eventType, r.dedupeKey, r.headers, r.payload, raw, r.status, r.errorMessage);
      }
    }
    statements.push(tx.unsafe<InsertedRow[]>(insertSql.get(size) as string, params as never[], { prepare: true }));
  }
  return statements;
}

/** Every chunk's inserted rows, in input order. */
async function insertedRows(statements: Array<Promise<InsertedRow[]>>): Promise<InsertedRow[]> {
  const out: InsertedRow[] = [];
  for (const s of statements) for (const r of await s) out.push(r);
  return out;
}
