/**
 * A counting semaphore shared by keys (tenants): the global cap on jobs running at once across every
 * tenant queue. Two rules keep a tenant whose jobs are quick from waiting behind others' slow ones (a
 * provider outage makes every tenant using it slow at once, ~30 s a job):
 * - the last tenth of the slots (`reserve`) goes only to a tenant with no job running: tenants that fill
 *   the rest with slow jobs leave room for up to `reserve` others to run one job each at once;
 * - when no slot may be taken, a freed one goes to the next tenant in rotation that has a job waiting
 *   and may take it, not to the job that has waited longest.
 */
export class Slots {
  private used = 0;
  private readonly held = new Map<string, number>();
  /** Waiters per key, keys in turn order (a Map keeps insertion order: a served key goes to the back). */
  private readonly waiting = new Map<string, Array<() => void>>();
  readonly reserve: number;

  constructor(private readonly size: number) {
    this.reserve = Math.floor(size / 10);
  }

  async acquire(key = ''): Promise<void> {
    if (!this.waiting.has(key) && this.mayTake(key)) {
      this.take(key);
      return;
    }
    await new Promise<void>((resolve) => {
      const queue = this.waiting.get(key);
      if (queue) queue.push(resolve);
      else this.waiting.set(key, [resolve]);
    });
  }

  release(key = ''): void {
    this.used--;
    const n = (this.held.get(key) ?? 1) - 1;
    if (n > 0) this.held.set(key, n);
    else this.held.delete(key);
    for (const [waiter, queue] of this.waiting) {
      if (!this.mayTake(waiter)) continue;
      const next = queue.shift() as () => void;
      this.waiting.delete(waiter);
      if (queue.length > 0) this.waiting.set(waiter, queue);
      this.take(waiter);
      next();
      return;
    }
  }

  get inUse(): number {
    return this.used;
  }

  private mayTake(key: string): boolean {
    const free = this.size - this.used;
    return free > 0 && (!this.held.has(key) || free > this.reserve);
  }

  private take(key: string): void {
    this.used++;
    this.held.set(key, (this.held.get(key) ?? 0) + 1);
  }
}
