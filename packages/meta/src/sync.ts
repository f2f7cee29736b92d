import type { Logger } from '@mcb/core';
import { type Database, withTenantSql } from '@mcb/db';
import type { GraphClient, GraphParams } from './client';
import { MetaBadResponse, MetaRequestError, MetaSyncBudgetSpent } from './errors';
import {
  type AdRow,
  adFields,
  allAdEffectiveStatuses,
  type CreativeRow,
  type InsightRow,
  insightFields,
  type ParseResult,
  parseAd,
  parseInsight,
} from './parse';
import { upsertAds, upsertCreatives, upsertInsights } from './store';
import { type DateRange, splitByMonth } from './window';

/**
 * Where a sync stands after its last committed batch: resuming from it skips nothing (rows up to
 * the cursor are committed) and repeats at most one batch (upserts make that harmless).
 * Holds only dates and Meta's opaque paging cursor — no token, no personal data.
 */
export interface MetaSyncCheckpoint {
  range: DateRange;
  phase: 'ads' | 'insights';
  /** Index of the month chunk of `range` (insights phase). */
  chunk: number;
  /** Paging cursor of the next page to fetch; null = start of the phase/chunk. */
  after: string | null;
  /** Pages of this edge (the ads, or this month chunk) fetched up to `after`: they count toward `maxPages`. */
  pages?: number;
}

/** How long a budget-delayed sync waits before it resumes: the jobs waiting behind it go first. */
export const metaSyncBudgetPauseMs = 5_000;

export interface MetaSyncProgress {
  phase: 'ads' | 'insights';
  chunk: number;
  chunks: number;
  chunkRange: DateRange | null;
  ads: number;
  insightRows: number;
  pages: number;
}

export interface MetaSyncOptions {
  /** Role `mcb_app`: every write runs under `withTenantSql` (RLS). */
  database: Database;
  client: GraphClient;
  tenantId: string;
  /** `act_<id>` or bare `<id>`. */
  adAccountId: string;
  /** Insight dates to (re-)pull, in the ad account's time zone. Ignored when resuming. */
  range: DateRange;
  resumeFrom?: MetaSyncCheckpoint | null;
  /** Graph `limit` per page. Default 500. */
  pageSize?: number;
  /** Rows per upsert statement. Default 1,000. */
  batchSize?: number;
  /** Batches written at once (separate transactions, so up to this many pool connections). Default 3. */
  writeConcurrency?: number;
  /** Accumulator to count into (e.g. across a rate-limited run and its resumption). */
  totals?: MetaSyncTotals;
  onProgress?: (p: MetaSyncProgress) => void;
  /** Called after each committed batch with the point a rerun may resume from. */
  onCheckpoint?: (cp: MetaSyncCheckpoint) => void | Promise<void>;
  /**
   * Time this run may take (ms; default: none). Checked between pages: once spent, the batch in
   * hand is committed, its checkpoint emitted, and `MetaSyncBudgetSpent` thrown, so one huge or
   * never-ending account cannot hold a worker slot for good. The worker passes META_SYNC_BUDGET_MS.
   */
  budgetMs?: number;
  /** Clock for the budget (tests). Default `Date.now`. */
  now?: () => number;
  log?: Logger;
}

/** Running counts of a sync. Pass the same object to a resumed run to keep counting across runs. */
export interface MetaSyncTotals {
  ads: number;
  creatives: number;
  insightRows: number;
  /** Elements Meta returned that could not be parsed (logged without their content). */
  skipped: number;
  pages: number;
  /** HTTP requests sent, retries included. */
  requests: number;
}

/** Creates zeroed `MetaSyncTotals`. */
export function emptyMetaSyncTotals(): MetaSyncTotals {
  return { ads: 0, creatives: 0, insightRows: 0, skipped: 0, pages: 0, requests: 0 };
}

export interface MetaSyncResult extends MetaSyncTotals {
  chunks: number;
  range: DateRange;
  durationMs: number;
}

/** `act_123` for `123` or `act_123`. */
export function adAccountPath(adAccountId: string): string {
  const id = adAccountId.trim();
  return id.startsWith('act_') ? id : `act_${id}`;
}

/** Ad-level daily insights request for one range (`level=ad`, `time_increment=1`). */
export function insightParams(range: DateRange, pageSize: number): GraphParams {
  return {
    level: 'ad',
    time_increment: 1,
    time_range: JSON.stringify({ since: range.since, until: range.until }),
    fields: insightFields,
    // Without this filter the account-level edge leaves out archived and deleted ads' spend.
    filtering: JSON.stringify([{ field: 'ad.effective_status', operator: 'IN', value: allAdEffectiveStatuses }]),
    limit: pageSize,
  };
}

/** Ads request: every status, with ad set, campaign and creative expanded in the same page. */
export function adParams(pageSize: number): GraphParams {
  return { fields: adFields, effective_status: JSON.stringify(allAdEffectiveStatuses), limit: pageSize };
}

/**
 * Syncs one tenant's ad account: every ad (+ creative), then daily ad-level insights for `range`,
 * month by month, following every page. Writes are batched upserts (one statement per batch), and
 * the next page is fetched while the previous batch is written. Idempotent: running it again (or
 * resuming from a checkpoint) leaves exactly one row per ad and per ad-day.
 * Throws the client's typed errors (`MetaRateLimited`, `MetaTokenExpired`, …) unchanged.
 * Takes no lock: the worker and the CLI go through `runTenantMetaSync`, which holds the tenant's.
 */
export async function syncMetaAccount(options: MetaSyncOptions): Promise<MetaSyncResult> {
  const now = options.now ?? Date.now;
  const started = Date.now();
  const budgetStart = now();
  const { database, client, tenantId, log } = options;
  const pageSize = options.pageSize ?? 500;
  const batchSize = options.batchSize ?? 1_000;
  const writeConcurrency = options.writeConcurrency ?? 3;
  const resume = options.resumeFrom ?? null;
  const range = resume?.range ?? options.range;
  const chunks = splitByMonth(range);
  const account = adAccountPath(options.adAccountId);
  const totals = options.totals ?? emptyMetaSyncTotals();
  let requestsSeen = client.requestCount;
  const progress = (phase: MetaSyncProgress['phase'], chunk: number) =>
    options.onProgress?.({
      phase,
      chunk,
      chunks: chunks.length,
      chunkRange: phase === 'insights' ? (chunks[chunk] ?? null) : null,
      ads: totals.ads,
      insightRows: totals.insightRows,
      pages: totals.pages,
    });

  async function runEdge<Row>(args: {
    path: string;
    params: GraphParams;
    after: string | null;
    checkpoint: Omit<MetaSyncCheckpoint, 'after' | 'pages'>;
    /** Pages of this edge fetched by earlier runs (from the checkpoint). */
    pagesDone: number;
    /** Where to resume once this edge is complete (null: the sync is complete). */
    done: MetaSyncCheckpoint | null;
    parse: (raw: unknown) => ParseResult<Row>;
    write: (rows: Row[]) => Promise<void>;
  }): Promise<void> {
    let buffer: Row[] = [];
    // Up to `writeConcurrency` batches are written (each its own transaction) while the next page
    // downloads; checkpoints are emitted strictly in order, once every earlier batch is committed.
    let committed: Promise<void> = Promise.resolve();
    const writing = new Set<Promise<void>>();
    const failed: { error?: { err: unknown } } = {};
    const flush = async (cp: MetaSyncCheckpoint | null) => {
      if (failed.error) throw failed.error.err;
      const rows = buffer;
      buffer = [];
      while (writing.size >= writeConcurrency) await Promise.race(writing);
      const write = rows.length ? args.write(rows) : Promise.resolve();
      const tracked = write.then(
        () => {
          writing.delete(tracked);
        },
        (err: unknown) => {
          failed.error ??= { err };
          writing.delete(tracked);
        },
      );
      writing.add(tracked);
      const previous = committed;
      committed = (async () => {
        await previous;
        await write;
        if (cp) await options.onCheckpoint?.(cp);
      })();
      committed.catch(() => {});
    };
    // A saved cursor can expire before a delayed job resumes: Meta then rejects the first request,
    // and the edge (this month chunk, or the ads) starts over — upserts make the overlap harmless.
    async function* pages() {
      let first = true;
      try {
        for await (const page of client.paginate<unknown>(args.path, args.params, args.after, args.pagesDone)) {
          first = false;
          yield page;
        }
      } catch (err) {
        // A refused answer (too large, paging that never ends) is no expired cursor: restarting would not help.
        if (!(first && args.after && err instanceof MetaRequestError) || err instanceof MetaBadResponse) throw err;
        log?.warn({ tenantId, phase: args.checkpoint.phase, err: err.message }, 'meta sync: resume cursor rejected; restarting this part');
        yield* client.paginate<unknown>(args.path, args.params, null);
      }
    }
    try {
      for await (const page of pages()) {
        totals.pages++;
        totals.requests += client.requestCount - requestsSeen;
        requestsSeen = client.requestCount;
        if (failed.error) throw failed.error.err;
        for (const raw of page.data) {
          const r = args.parse(raw);
          if (r.ok) buffer.push(r.value);
          else {
            totals.skipped++;
            log?.warn({ tenantId, phase: args.checkpoint.phase, reason: r.error }, 'meta sync skipped an element');
          }
        }
        const here = { ...args.checkpoint, after: page.after, pages: page.page };
        if (page.after === null) await flush(args.done);
        else if (options.budgetMs !== undefined && now() - budgetStart >= options.budgetMs) {
          await flush(here);
          await committed;
          throw new MetaSyncBudgetSpent(
            `meta sync used its ${options.budgetMs} ms budget (META_SYNC_BUDGET_MS) at page ${page.page} of ${args.checkpoint.phase}`,
            { waitMs: metaSyncBudgetPauseMs },
          );
        } else if (buffer.length >= batchSize) await flush(here);
        progress(args.checkpoint.phase, args.checkpoint.chunk);
      }
    } finally {
      // Let the writes settle so the last checkpoint reflects what is committed, even on a rate limit.
      await committed.catch(() => {});
    }
    await committed;
  }

  const startChunk = resume?.phase === 'insights' ? resume.chunk : 0;
  if (!resume || resume.phase === 'ads') {
    await runEdge<{ ad: AdRow; creative: CreativeRow | null }>({
      path: `${account}/ads`,
      params: adParams(pageSize),
      after: resume?.after ?? null,
      pagesDone: resume?.after ? (resume.pages ?? 0) : 0,
      checkpoint: { range, phase: 'ads', chunk: 0 },
      done: chunks.length ? { range, phase: 'insights', chunk: 0, after: null } : null,
      parse: parseAd,
      write: async (rows) => {
        const creatives = rows.flatMap((r) => (r.creative ? [r.creative] : []));
        await withTenantSql(database.sql, tenantId, async (tx) => {
          // Read-after-await: concurrent batches must not lose each other's increments.
          const ads = await upsertAds(
            tx,
            tenantId,
            rows.map((r) => r.ad),
          );
          const written = await upsertCreatives(tx, tenantId, creatives);
          totals.ads += ads;
          totals.creatives += written;
        });
      },
    });
  }

  for (let i = startChunk; i < chunks.length; i++) {
    const chunkRange = chunks[i] as DateRange;
    await runEdge<InsightRow>({
      path: `${account}/insights`,
      params: insightParams(chunkRange, pageSize),
      after: resume?.phase === 'insights' && i === resume.chunk ? resume.after : null,
      pagesDone: resume?.phase === 'insights' && i === resume.chunk && resume.after ? (resume.pages ?? 0) : 0,
      checkpoint: { range, phase: 'insights', chunk: i },
      done: i + 1 < chunks.length ? { range, phase: 'insights', chunk: i + 1, after: null } : null,
      parse: parseInsight,
      write: async (rows) => {
        await withTenantSql(database.sql, tenantId, async (tx) => {
          const written = await upsertInsights(tx, tenantId, rows);
          totals.insightRows += written;
        });
      },
    });
  }

  return { ...totals, chunks: chunks.length, range, durationMs: Date.now() - started };
}
