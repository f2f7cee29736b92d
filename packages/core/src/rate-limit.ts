/**
 * Token buckets keyed by a string (a tenant, a client address): `take(key)` is true while the key
 * has budget. Each key holds up to `burst` tokens and regains `perSecond` per second. In-process
 * (each receiver or console instance has its own budget); keys idle for a full refill are forgotten,
 * so memory stays bounded by the keys active in the last `burst / perSecond` seconds (and `maxKeys`).
 */
export class KeyedRateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly options: { perSecond: number; burst: number; maxKeys?: number },
    private readonly now: () => number = () => performance.now(),
  ) {}

  /**
   * Spends `cost` tokens of `key` (one by default; a byte budget spends a body's length); false, and
   * nothing spent, when it has fewer left (the caller counts, not stores). A cost over `burst` never passes.
   */
  take(key: string, cost = 1): boolean {
    const t = this.now();
    const { perSecond, burst } = this.options;
    let b = this.buckets.get(key);
    if (b) b.tokens = Math.min(burst, b.tokens + ((t - b.at) / 1000) * perSecond);
    else {
      if (this.buckets.size >= (this.options.maxKeys ?? 100_000)) this.prune(t);
      b = { tokens: burst, at: t };
      this.buckets.set(key, b);
    }
    b.at = t;
    if (b.tokens < cost) return false;
    b.tokens -= cost;
    return true;
  }

  private prune(t: number): void {
    const fullAfterMs = (1000 * this.options.burst) / this.options.perSecond;
    for (const [k, b] of this.buckets) if (t - b.at >= fullAfterMs) this.buckets.delete(k);
    // Still full of active keys: forget the oldest half rather than grow without bound.
    if (this.buckets.size >= (this.options.maxKeys ?? 100_000)) {
      let n = this.buckets.size / 2;
      for (const k of this.buckets.keys()) {
        if (n-- <= 0) break;
        this.buckets.delete(k);
      }
    }
  }
}
