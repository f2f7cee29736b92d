import type { GraphUsage } from './usage';

/** Base of every failure the Graph client reports. Messages never contain the access token. */
export class MetaApiError extends Error {
  readonly status: number;
  readonly code: number | null;
  readonly subcode: number | null;
  readonly fbtraceId: string | null;
  constructor(message: string, opts: { status: number; code?: number | null; subcode?: number | null; fbtraceId?: string | null }) {
    super(message);
    this.name = new.target.name;
    this.status = opts.status;
    this.code = opts.code ?? null;
    this.subcode = opts.subcode ?? null;
    this.fbtraceId = opts.fbtraceId ?? null;
  }
}

/**
 * Throttled by Meta (codes 4, 17, 613, 80000–80014 or HTTP 429). Retry no earlier than
 * `waitMs` from now; never retried inside the client — the job is delayed instead.
 */
export class MetaRateLimited extends MetaApiError {
  readonly waitMs: number;
  readonly usage: GraphUsage;
  constructor(message: string, opts: ConstructorParameters<typeof MetaApiError>[1] & { waitMs: number; usage: GraphUsage }) {
    super(message, opts);
    this.waitMs = opts.waitMs;
    this.usage = opts.usage;
  }
}

/** Expired or invalid access token (code 190). Permanent: retrying cannot help until the token is replaced. */
export class MetaTokenExpired extends MetaApiError {}

/** 5xx, network failure or timeout that persisted through the client's bounded retries. Retryable later. */
export class MetaTransientError extends MetaApiError {}

/** Any other Graph error (bad parameter, missing permission, unknown ad account). Permanent. */
export class MetaRequestError extends MetaApiError {}

/** Why the client refused an answer it was given (`MetaBadResponse.reason`). */
export type MetaBadResponseReason =
  /** The body passed the client's byte cap (`maxResponseBytes`); it was cut off, not read. */
  | 'too_large'
  /** A page held far more rows than the `limit` asked for. */
  | 'too_many_rows'
  /** An edge still had a `paging.next` after `maxPages` pages. */
  | 'page_cap'
  /** `paging.next` led back to a cursor already followed: the paging would never end. */
  | 'cursor_repeat';

/**
 * An answer the client will not use (too large, too many rows, paging that never ends). Permanent
 * (a `MetaRequestError`): asking again gets the same answer, so the job fails and `last_error` says why.
 */
export class MetaBadResponse extends MetaRequestError {
  readonly reason: MetaBadResponseReason;
  constructor(message: string, opts: ConstructorParameters<typeof MetaApiError>[1] & { reason: MetaBadResponseReason }) {
    super(message, opts);
    this.reason = opts.reason;
  }
}

/** Graph error codes that mean "throttled" (https://developers.facebook.com/docs/marketing-api/overview/rate-limiting). */
export function isRateLimitCode(code: number | null | undefined): boolean {
  if (code == null) return false;
  return code === 4 || code === 17 || code === 32 || code === 613 || (code >= 80000 && code <= 80014);
}

/**
 * A sync used up its time budget (`budgetMs`) with pages still to fetch. Not a failure: every row up
 * to `checkpoint` is committed, and the worker delays the job by `waitMs` (as for a rate limit), so
 * its slot goes to the jobs waiting behind it and the sync resumes where it stopped.
 */
export class MetaSyncBudgetSpent extends Error {
  readonly waitMs: number;
  constructor(message: string, opts: { waitMs: number }) {
    super(message);
    this.name = 'MetaSyncBudgetSpent';
    this.waitMs = opts.waitMs;
  }
}

/**
 * Another sync of the tenant holds its lock (`withMetaSyncLock`; a process elsewhere, or this one), so
 * this one did nothing: no Graph request, no write, no `last_error`. Not a failure: the sync running
 * covers the same window. The worker completes the job as skipped; the CLI says so and exits non-zero.
 */
export class MetaSyncAlreadyRunning extends Error {
  readonly tenantId: string;
  readonly slug: string;
  constructor(tenant: { tenantId: string; slug: string }) {
    super(`a Meta sync of ${tenant.slug} is already running; nothing done`);
    this.name = 'MetaSyncAlreadyRunning';
    this.tenantId = tenant.tenantId;
    this.slug = tenant.slug;
  }
}
