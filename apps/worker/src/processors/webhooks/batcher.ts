import { withDeadline } from '@mcb/core';

/** Per-item result of a batch run: the value, or the error of that item alone. */
export type BatchResult<Out> = { ok: true; value: Out } | { ok: false; error: unknown };

export interface BatcherOptions {
  /** Most items in one run. */
  maxBatch: number;
  /** Most runs at once; items submitted meanwhile gather into the next run. */
  maxInFlight: number;
  /**
   * A run not settled by then fails its items (retryable `unavailable`) and frees its place, so a wait
   * that never ends (a dead database connection) cannot hold the batcher and every job behind it.
   * The run itself goes on unobserved. None when omitted.
   */
  deadlineMs?: number;
}

interface Pending<In, Out> {
  item: In;
  resolve: (value: Out) => void;
  reject: (err: unknown) => void;
}

/**
 * Group processing: items submitted while a run is in flight (jobs of one tenant running side by side)
 * are gathered into the next run, so N jobs cost one transaction instead of N. No timer: a lone item
 * runs at once; a batch forms only under load. `run` answers per item, in order.
 */
export class Batcher<In, Out> {
  private pending: Array<Pending<In, Out>> = [];
  private inFlight = 0;
  private scheduled = false;

  constructor(
    private readonly run: (items: In[]) => Promise<Array<BatchResult<Out>>>,
    private readonly options: BatcherOptions,
  ) {}

  submit(item: In): Promise<Out> {
    return new Promise<Out>((resolve, reject) => {
      this.pending.push({ item, resolve, reject });
      this.schedule();
    });
  }

  /** Items waiting for a run. */
  get waiting(): number {
    return this.pending.length;
  }

  private schedule(): void {
    // Next tick: the jobs a BullMQ fetch hands over together join one run.
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.drain();
    });
  }

  private drain(): void {
    while (this.pending.length > 0 && this.inFlight < this.options.maxInFlight) {
      const batch = this.pending.splice(0, this.options.maxBatch);
      this.inFlight++;
      void this.execute(batch).finally(() => {
        this.inFlight--;
        if (this.pending.length > 0) this.schedule();
      });
    }
  }

  private async execute(batch: Array<Pending<In, Out>>): Promise<void> {
    let results: Array<BatchResult<Out>>;
    try {
      const run = this.run(batch.map((p) => p.item));
      const { deadlineMs } = this.options;
      results = await (deadlineMs === undefined ? run : withDeadline(run, deadlineMs, `batch run of ${batch.length}`));
    } catch (err) {
      for (const p of batch) p.reject(err);
      return;
    }
    for (const [i, p] of batch.entries()) {
      const r = results[i];
      if (!r) p.reject(new Error('batch run returned no result for an item'));
      else if (r.ok) p.resolve(r.value);
      else p.reject(r.error);
    }
  }
}

/**
 * Runs `all` on the whole batch; if it fails, runs `one` per item so one bad item (a value Postgres
 * refuses) fails alone and the others still go through.
 */
export async function runIsolated<In, Out>(
  items: In[],
  all: (items: In[]) => Promise<Out[]>,
  one: (item: In) => Promise<Out>,
): Promise<Array<BatchResult<Out>>> {
  try {
    return (await all(items)).map((value) => ({ ok: true as const, value }));
  } catch (err) {
    if (items.length === 1) return [{ ok: false, error: err }];
  }
  const out: Array<BatchResult<Out>> = [];
  for (const item of items) {
    try {
      out.push({ ok: true, value: await one(item) });
    } catch (error) {
      out.push({ ok: false, error });
    }
  }
  return out;
}
