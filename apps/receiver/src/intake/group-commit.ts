import type { Logger } from '@mcb/core';
import type { Database } from '@mcb/db';
import type { WebhookEnqueuer, WebhookJobRef } from '@mcb/queue';
import type { ReservedSql, Sql } from 'postgres';
import type { ReceiverMetrics } from '../metrics';
import { withTimeout } from './queue-ready';

/** One `webhook_logs` row to write. JSON columns travel as text (exact body bytes, no re-serialising). */
export interface IntakeRow {
  tenantId: string;
  source: string;
  eventType: string | null;
  dedupeKey: string;
  /** JSON text of the redacted headers. */
  headers: string;
  /** JSON text for `payload`, or null (body not JSON). */
  payload: string | null;
  rawBody: string | null;
  status: 'received' | 'rejected';
  errorMessage: string | null;
}

/** What the request learns once its row is committed (and its job enqueued, or left to the outbox). */
export interface IntakeResult {
  /** Log id; for a duplicate, the id of the row seen before. Null for rejected rows. */
  id: number | null;
  duplicate: boolean;
  /** False when the job was left to the outbox sweeper (queue down or slow). */
  enqueued: boolean;
}

export interface GroupCommitOptions {
  /** How long the first request of a batch waits for others (ms; 0 = next tick). */
  windowMs: number;
  /** Most rows in one transaction. */
  maxRows: number;
  /** Most transactions in flight; further requests gather into the next batch meanwhile. */
  maxConcurrent: number;
  /** Bound on one `addBulk`; past it the jobs are left to the outbox. */
  enqueueTimeoutMs: number;
}

export const defaultGroupCommitOptions: GroupCommitOptions = { windowMs: 1, maxRows: 500, maxConcurrent: 4, enqueueTimeoutMs: 500 };

interface Pending {
  row: IntakeRow;
  resolve: (r: IntakeResult) => void;
  reject: (err: unknown) => void;
}

interface Committed {
  /** Per pending item, in batch order. */
  results: Array<{ id: number | null; duplicate: boolean }>;
  fresh: WebhookJobRef[];
}

/** A data error in one row (e.g. a JSON value Postgres refuses) must not fail the rows batched with it. */
function isRowDataError(err: unknown): boolean {
  const code = (err as { code?: unknown })?.code;
  return (err as Error)?.name === 'PostgresError' && typeof code === 'string' && (code.startsWith('22') || code.startsWith('23'));
}

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
 * Group commit for intake (ADR 0001): concurrent requests are gathered for `windowMs` (or until
 * `maxRows`) into ONE transaction that writes every row with one multi-row INSERT per tenant
 * (`app.tenant_id` set per tenant: the pool is `mcb_app` under RLS). Accepted rows use
 * `ON CONFLICT (tenant_id, source, dedupe_key) WHERE status <> 'rejected' DO NOTHING` and the ids
 * of existing rows are looked up for duplicates. After COMMIT the new rows' jobs go out in one
 * `addBulk` per tenant queue, bounded by a timeout, and only then is each request answered; the
 * `enqueued_at` marks ride along in the next batch's transaction (or their own after 20 ms). A job not enqueued stays with
 * `enqueued_at` NULL for the outbox sweeper. A failed transaction rejects every request in it
 * (nothing was committed, the provider retries).
 */
export class GroupCommitter {
  private pending: Pending[] = [];
  private timer: NodeJS.Timeout | NodeJS.Immediate | null = null;
  private inFlight = 0;
  /** Jobs enqueued whose `enqueued_at` is not yet written. */
  private marks: WebhookJobRef[] = [];
  private markTimer: NodeJS.Timeout | null = null;
  private readonly markDelayMs = 20;
  private readonly tasks = new Set<Promise<unknown>>();
  private readonly options: GroupCommitOptions;

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
    return new Promise<IntakeResult>((resolve, reject) => {
      this.pending.push({ row, resolve, reject });
      if (this.pending.length >= this.options.maxRows) this.kick();
      else if (!this.timer) {
        this.timer = this.options.windowMs > 0 ? setTimeout(() => this.kick(), this.options.windowMs) : setImmediate(() => this.kick());
      }
    });
  }

  /** Flushes what is pending and waits for every batch and mark in flight (graceful shutdown). */
  async drain(): Promise<void> {
    this.kick();
    while (this.tasks.size > 0 || this.pending.length > 0) {
      await Promise.allSettled([...this.tasks]);
      this.kick();
    }
    if (this.markTimer) clearTimeout(this.markTimer);
    this.markTimer = null;
    if (this.marks.length > 0) await this.flushMarksOnly();
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
      committed = await this.commit(batch.map((p) => p.row));
      this.deps.metrics.batchPhase.observe({ phase: 'commit' }, (performance.now() - t0) / 1000);
    } catch (err) {
      if (batch.length > 1 && isRowDataError(err)) {
        this.deps.log.warn({ err: (err as Error).message, rows: batch.length }, 'group commit: data error, retrying rows one by one');
        await Promise.all(batch.map((p) => this.flush([p])));
        return;
      }
      for (const p of batch) p.reject(err);
      return;
    }
    const t1 = performance.now();
    const enqueued = await this.enqueue(committed.fresh);
    if (committed.fresh.length > 0) this.deps.metrics.batchPhase.observe({ phase: 'enqueue' }, (performance.now() - t1) / 1000);
    batch.forEach((p, i) => {
      const r = committed.results[i] as { id: number | null; duplicate: boolean };
      p.resolve({ id: r.id, duplicate: r.duplicate, enqueued: enqueued && !r.duplicate && r.id !== null });
    });
    if (enqueued && committed.fresh.length > 0) this.queueMarks(committed.fresh);
  }

  private async enqueue(refs: WebhookJobRef[]): Promise<boolean> {
    if (refs.length === 0) return true;
    if (!this.deps.queueReady()) {
      this.deps.metrics.enqueueFailures.inc();
      return false;
    }
    try {
      await withTimeout(this.deps.enqueuer.enqueue(refs), this.options.enqueueTimeoutMs, 'enqueue');
      return true;
    } catch (err) {
      this.deps.metrics.enqueueFailures.inc();
      this.deps.log.warn({ err: (err as Error).message, jobs: refs.length }, 'enqueue failed; jobs left to the outbox sweeper');
      return false;
    }
  }

  /** Marks ride along with the next batch's transaction; alone only when no batch comes soon. */
  private queueMarks(refs: WebhookJobRef[]): void {
    this.marks.push(...refs);
    if (!this.markTimer) {
      this.markTimer = setTimeout(() => {
        this.markTimer = null;
        if (this.marks.length > 0 && this.inFlight === 0 && this.pending.length === 0) this.track(this.flushMarksOnly());
      }, this.markDelayMs);
      this.markTimer.unref();
    }
  }

  private async flushMarksOnly(): Promise<void> {
    if (this.marks.length === 0) return;
    try {
      await this.commit([]);
    } catch (err) {
      // Harmless: the sweeper re-adds these jobs under the same job ids, which BullMQ ignores.
      this.deps.log.warn({ err: (err as Error).message }, 'marking enqueued_at failed; the outbox sweeper will re-add those jobs');
    }
  }

  /**
   * One transaction in ONE round trip: BEGIN, per tenant `set_config(app.tenant_id)` + the multi-row
   * INSERTs + the pending `enqueued_at` marks, and COMMIT are pipelined on a reserved connection.
   * If any statement fails, the rest fail as "transaction aborted" and the COMMIT rolls back, so the
   * batch is all or nothing. Ids of duplicates are looked up after the commit (the conflicting rows
   * are committed by then: ON CONFLICT waited for them).
   */
  private async commit(rows: IntakeRow[]): Promise<Committed> {
    const results: Committed['results'] = rows.map(() => ({ id: null, duplicate: false }));
    const fresh: WebhookJobRef[] = [];
    const marks = this.marks.splice(0);
    const indexed = rows.map((row, index) => ({ row, index }));
    const byTenant = groupBy(indexed, (x) => x.row.tenantId);
    const marksByTenant = groupBy(marks, (m) => m.tenantId);
    for (const tenantId of marksByTenant.keys()) if (!byTenant.has(tenantId)) byTenant.set(tenantId, []);
    const inserts: Array<{ tenantId: string; accepted: typeof indexed; rows: Promise<InsertedRow[]> }> = [];
    try {
      await inOneRoundTrip(this.deps.database.sql, (tx) => {
        const statements: Array<Promise<unknown>> = [];
        for (const [tenantId, items] of byTenant) {
          statements.push(send(setTenant(tx, tenantId)));
          const rejected = items.filter((x) => x.row.status === 'rejected');
          const accepted = items.filter((x) => x.row.status === 'received');
          if (rejected.length > 0)
            statements.push(
              send(
                insertRows(
                  tx,
                  tenantId,
                  rejected.map((x) => x.row),
                  false,
                ),
              ),
            );
          if (accepted.length > 0) {
            const p = send(
              insertRows(
                tx,
                tenantId,
                accepted.map((x) => x.row),
                true,
              ),
            );
            statements.push(p);
            inserts.push({ tenantId, accepted, rows: p });
          }
          const tenantMarks = marksByTenant.get(tenantId);
          if (tenantMarks) {
            statements.push(
              send(tx`update webhook_logs set enqueued_at = now()
                where tenant_id = ${tenantId} and id = any(${tenantMarks.map((m) => m.logId)}::bigint[]) and enqueued_at is null`),
            );
          }
        }
        return statements;
      });
    } catch (err) {
      this.marks.unshift(...marks);
      throw err;
    }
    const lookups: Array<{ tenantId: string; missing: typeof indexed }> = [];
    for (const { tenantId, accepted, rows: insertedP } of inserts) {
      const newIds = new Map<string, number>();
      for (const r of await insertedP) newIds.set(`${r.source}\u0000${r.dedupe_key}`, r.id);
      const missing: typeof indexed = [];
      for (const x of accepted) {
        const k = `${x.row.source}\u0000${x.row.dedupeKey}`;
        const id = newIds.get(k);
        if (id !== undefined) {
          // The first request with a key in this batch owns the new row; later ones are duplicates.
          newIds.delete(k);
          results[x.index] = { id, duplicate: false };
          fresh.push({ tenantId, logId: id });
        } else missing.push(x);
      }
      if (missing.length > 0) lookups.push({ tenantId, missing });
    }
    if (lookups.length > 0) {
      const found: Array<Promise<InsertedRow[]>> = [];
      await inOneRoundTrip(this.deps.database.sql, (tx) => {
        const statements: Array<Promise<unknown>> = [];
        for (const { tenantId, missing } of lookups) {
          statements.push(send(setTenant(tx, tenantId)));
          const p = send(tx<InsertedRow[]>`
            select id, source, dedupe_key from webhook_logs
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
    return { results, fresh };
  }
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
    const settled = await Promise.allSettled([begin, ...statements, commit]);
    const failed = settled.find((r) => r.status === 'rejected');
    if (failed) throw (failed as PromiseRejectedResult).reason;
  } finally {
    tx.release();
  }
}

type InsertedRow = { id: number; source: string; dedupe_key: string };

/**
 * Starts a postgres.js query now. Queries are sent when first awaited and in that order on the
 * transaction's connection, so statements started back to back are pipelined in a single round trip.
 */
function send<T>(query: PromiseLike<T>): Promise<T> {
  return Promise.resolve(query.then((x) => x));
}

function setTenant(tx: ReservedSql, tenantId: string) {
  return tx`select set_config('app.tenant_id', ${tenantId}, true)`;
}

/** One multi-row INSERT (unnest of column arrays: one statement and one plan for any batch size). */
function insertRows(tx: ReservedSql, tenantId: string, rows: IntakeRow[], accepted: boolean) {
  const col = <K extends keyof IntakeRow>(k: K) => rows.map((r) => r[k]);
  const values = tx`
    select ${tenantId}::uuid, r.source, r.event_type, r.dedupe_key, r.headers::jsonb, r.payload::jsonb, r.raw_body,
      ${accepted ? 'received' : 'rejected'}, r.error_message
    from unnest(${col('source')}::text[], ${col('eventType')}::text[], ${col('dedupeKey')}::text[], ${col('headers')}::text[],
      ${col('payload')}::text[], ${col('rawBody')}::text[], ${col('errorMessage')}::text[])
      with ordinality as r(source, event_type, dedupe_key, headers, payload, raw_body, error_message, ord)
    order by r.ord`;
  const columns = tx`insert into webhook_logs (tenant_id, source, event_type, dedupe_key, headers, payload, raw_body, status, error_message)`;
  return accepted
    ? tx<InsertedRow[]>`${columns} ${values}
        on conflict (tenant_id, source, dedupe_key) where status <> 'rejected' do nothing
        returning id, source, dedupe_key`
    : tx<InsertedRow[]>`${columns} ${values} returning id, source, dedupe_key`;
}
