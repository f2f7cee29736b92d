/** Which bound refused a reservation: the process-wide total, or the tenant's share of it. */
export type BodyBudgetScope = 'process' | 'tenant';

/** One request's reservations, released together once it is answered. */
export interface BodyLease {
  /** Reserves `bytes` more; the bound that refused it otherwise (nothing reserved then). */
  reserve(bytes: number): { ok: true } | { ok: false; scope: BodyBudgetScope };
  /** Gives back everything this lease reserved; later calls do nothing. */
  release(): void;
}

export interface BodyBudgetOptions {
  /** Bytes held at once by every body together. */
  totalBytes: number;
  /** Bytes one tenant's LARGE bodies may hold at once (a share of the total). */
  perTenantBytes: number;
  /**
   * A body is large once more than this has arrived (default 64 KiB; real provider events are
   * 1–20 KB). Small bodies are held to the total only, and large ones together to three quarters of
   * it: whoever holds a tenant's share (or most of the total) with large bodies sent slowly — anyone
   * who knows a slug can, no secret needed — leaves that tenant's, and every tenant's, everyday
   * deliveries room to be read.
   */
  smallBodyBytes?: number;
}

export const defaultSmallBodyBytes = 64 * 1024;

/**
 * Bytes of request bodies the receiver holds in memory at once (being read, then verified and
 * committed), bounded process-wide and, for large bodies, per tenant: bodies sent slowly, or many at
 * once, can neither grow the heap past the total nor let one tenant's senders take all of it. A
 * request reserves its body's bytes as they ARRIVE — never a declared `Content-Length`, which costs a
 * sender nothing to claim — and releases them when it is answered. In-process: each receiver has its own.
 */
export class BodyBudget {
  private used = 0;
  private usedLarge = 0;
  private readonly byTenant = new Map<string, number>();
  private readonly small: number;
  private readonly largeTotal: number;

  constructor(readonly options: BodyBudgetOptions) {
    this.small = options.smallBodyBytes ?? defaultSmallBodyBytes;
    this.largeTotal = Math.floor((options.totalBytes * 3) / 4);
  }

  /** Bytes reserved now, in all and for `tenantId` (metrics, tests). */
  held(tenantId?: string): number {
    return tenantId === undefined ? this.used : (this.byTenant.get(tenantId) ?? 0);
  }

  /** A lease on `tenantId`'s share; the caller releases it in a `finally`. */
  lease(tenantId: string): BodyLease {
    let mine = 0;
    let large = false;
    return {
      reserve: (bytes) => {
        const tenant = this.byTenant.get(tenantId) ?? 0;
        const becomesLarge = !large && mine + bytes > this.small;
        // A body turning large moves what it held so far into the large account.
        const largeBytes = large ? bytes : becomesLarge ? mine + bytes : 0;
        if (largeBytes > 0) {
          if (tenant + bytes > this.options.perTenantBytes) return { ok: false, scope: 'tenant' };
          if (this.usedLarge + largeBytes > this.largeTotal) return { ok: false, scope: 'process' };
        }
        if (this.used + bytes > this.options.totalBytes) return { ok: false, scope: 'process' };
        this.used += bytes;
        this.usedLarge += largeBytes;
        this.byTenant.set(tenantId, tenant + bytes);
        mine += bytes;
        large ||= becomesLarge;
        return { ok: true };
      },
      release: () => {
        if (mine === 0) return;
        this.used -= mine;
        if (large) this.usedLarge -= mine;
        const left = (this.byTenant.get(tenantId) ?? 0) - mine;
        if (left > 0) this.byTenant.set(tenantId, left);
        else this.byTenant.delete(tenantId);
        mine = 0;
        large = false;
      },
    };
  }
}
