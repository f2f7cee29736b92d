/**
 * How much of a worker process's heap the webhook payloads it holds may take (SPEC §10.8: bad input of
 * any shape never crashes a worker). A job holds a lease from before it loads its log until it ends, so
 * the payloads loaded at once — the load batch's rows, and those waiting for the apply — stay within the
 * budget whatever one tenant sends. Without it, 200 accepted 1 MiB bodies of `{}` (22 MB each once
 * parsed) took a worker past 4 GB and killed it, with every tenant's jobs in flight.
 *
 * Waiting tenants are served in turn: the one served longest ago goes next, and when its lease does not
 * fit yet the room is kept for it (its wait ends when leases already granted end), so no tenant's lease
 * is passed over for long.
 */
export class MemoryBudget {
  private used = 0;
  /** Waiters per tenant, oldest first. */
  private readonly queues = new Map<string, Waiter[]>();
  /** When each tenant was last granted a lease (a counter; one entry per tenant the process has served). */
  private readonly lastServed = new Map<string, number>();
  private served = 0;

  constructor(readonly limitBytes: number) {}

  /** Bytes currently granted (tests and metrics). */
  get inUse(): number {
    return this.used;
  }

  /** Leases waiting (tests and metrics). */
  get waiting(): number {
    let n = 0;
    for (const q of this.queues.values()) n += q.length;
    return n;
  }

  /**
   * Resolves with the lease's release function once `bytes` fit (a request larger than the whole budget
   * is granted when nothing else is held). Rejects with the signal's reason if it aborts first.
   */
  acquire(tenantId: string, bytes: number, signal?: AbortSignal): Promise<() => void> {
    const size = Math.min(Math.max(0, Math.ceil(bytes)), this.limitBytes);
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise((resolve, reject) => {
      const waiter: Waiter = { size, resolve, reject, signal, onAbort: undefined };
      if (signal) {
        waiter.onAbort = () => {
          const q = this.queues.get(tenantId);
          const at = q?.indexOf(waiter) ?? -1;
          if (q && at >= 0) {
            q.splice(at, 1);
            if (q.length === 0) this.queues.delete(tenantId);
          }
          reject(signal.reason);
          this.grant();
        };
        signal.addEventListener('abort', waiter.onAbort, { once: true });
      }
      const q = this.queues.get(tenantId);
      if (q) q.push(waiter);
      else this.queues.set(tenantId, [waiter]);
      this.grant();
    });
  }

  private grant(): void {
    for (;;) {
      // The tenant served longest ago (never served: first) goes next. If its lease does not fit yet,
      // nobody else is granted meanwhile: the room that frees up is kept for it, so a stream of smaller
      // leases from a tenant served more recently cannot pass it over forever.
      let next: string | undefined;
      for (const tenantId of this.queues.keys()) {
        if (next === undefined || (this.lastServed.get(tenantId) ?? -1) < (this.lastServed.get(next) ?? -1)) next = tenantId;
      }
      if (next === undefined) return;
      const size = (this.queues.get(next) as Waiter[])[0]?.size ?? 0;
      if (this.used > 0 && this.used + size > this.limitBytes) return;
      const q = this.queues.get(next) as Waiter[];
      const head = q.shift() as Waiter;
      if (q.length === 0) this.queues.delete(next);
      this.lastServed.set(next, ++this.served);
      if (head.onAbort) head.signal?.removeEventListener('abort', head.onAbort);
      this.used += head.size;
      let released = false;
      head.resolve(() => {
        if (released) return;
        released = true;
        this.used -= head.size;
        this.grant();
      });
    }
  }
}

interface Waiter {
  size: number;
  resolve: (release: () => void) => void;
  reject: (reason: unknown) => void;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

/**
 * Heap a payload of `bytes` characters of JSON may take once loaded: the text postgres.js receives plus
 * the parsed value. Measured (node 20, `JSON.parse`, heap after GC) per byte of JSON: `{}` items 22.3,
 * `[{"k":{}}]` 21.3, `[[]]` 20.2, `[]` 14.3, many keys 9.1, numbers 2.7–5, strings 1–4 — so 24 per byte
 * (the worst plus the text), and 16 KB for the row and the job's own objects.
 */
export function payloadMemoryEstimate(bytes: number): number {
  return 24 * bytes + 16 * 1024;
}
