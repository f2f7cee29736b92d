/**
 * A counting semaphore served in turns by key: the global cap on jobs running at once across every
 * tenant queue. When every slot is taken, a freed slot goes to the next tenant in rotation that has a
 * job waiting, not to the job that has waited longest: with several tenants' jobs slow at once (a
 * provider outage makes every tenant using it slow), a tenant whose jobs are quick still gets a slot
 * within about one release per waiting tenant, instead of behind everyone's backlog of slow jobs.
 */
export class Slots {
  private used = 0;
  /** Waiters per key, keys in turn order (a Map keeps insertion order: a served key goes to the back). */
  private readonly waiting = new Map<string, Array<() => void>>();
  constructor(private readonly size: number) {}

  async acquire(key = ''): Promise<void> {
    if (this.used < this.size) {
      this.used++;
      return;
    }
    await new Promise<void>((resolve) => {
      const queue = this.waiting.get(key);
      if (queue) queue.push(resolve);
      else this.waiting.set(key, [resolve]);
    });
  }

  release(): void {
    const first = this.waiting.entries().next();
    if (first.done) {
      this.used--;
      return;
    }
    const [key, queue] = first.value;
    const next = queue.shift() as () => void;
    this.waiting.delete(key);
    if (queue.length > 0) this.waiting.set(key, queue);
    next();
  }

  get inUse(): number {
    return this.used;
  }
}
