import { type Logger, networkErrorText, readWithLimit, retry } from '@mcb/core';
import {
  isRateLimitCode,
  MetaApiError,
  MetaBadResponse,
  MetaRateLimited,
  MetaRequestError,
  MetaTokenExpired,
  MetaTransientError,
} from './errors';
import { type GraphUsage, parseGraphUsage } from './usage';

export interface GraphClientOptions {
  /** Graph API origin, e.g. `https://graph.facebook.com` (env `META_GRAPH_URL`). */
  baseUrl: string;
  /** API version path segment, e.g. `v25.0` (env `META_API_VERSION`). */
  version: string;
  /** Sent only as `Authorization: Bearer …`, never in a URL. */
  accessToken: string;
  /** Per-request timeout (ms). Default 60 s. */
  timeoutMs?: number;
  /** Retries of 5xx / network errors / timeouts inside the client. Default 4. */
  maxRetries?: number;
  /** First backoff step (ms); doubles per retry, capped at 10 s, with jitter. Default 500. */
  retryBaseMs?: number;
  /** Wait reported for a rate limit whose headers give no hint. Default 5 min. */
  defaultRateLimitWaitMs?: number;
  /**
   * Largest response body read (bytes). The body is read as a stream and cut off past this: a
   * `MetaBadResponse` ('too_large'), never retried. Default 32 MiB (`defaultMaxResponseBytes`).
   */
  maxResponseBytes?: number;
  /** Pages one edge may take (`paginate`, counting `pagesDone`) before it fails as 'page_cap'. Default 10,000. */
  maxPages?: number;
  log?: Logger;
  fetch?: typeof fetch;
  /** Aborts in-flight requests and retry waits (worker shutdown); the call then throws `MetaTransientError`. */
  signal?: AbortSignal;
}

/** The Graph settings every caller shares (an app's env: `metaSettingsFromEnv`); the token is per tenant. */
export interface GraphSettings {
  graphUrl: string;
  apiVersion: string;
  timeoutMs?: number;
  maxRetries?: number;
  retryBaseMs?: number;
  defaultRateLimitWaitMs?: number;
  maxResponseBytes?: number;
  maxPages?: number;
}

/** Default `maxResponseBytes`: 32 MiB, some 30,000 ads with their creatives — 60× a 500-ad page. */
export const defaultMaxResponseBytes = 32 * 1024 * 1024;
/** Default `maxPages` per edge: 5 million rows at the default `limit` of 500. */
export const defaultMaxPages = 10_000;
/** Longest Meta error message kept (the rest is cut): it is logged and stored (`last_error`, the job's failure). */
export const maxErrorMessageChars = 500;
/** Longest a rate limit delays a job, whatever Meta's headers say (24 h; Meta's own blocks last minutes to an hour). */
export const maxRateLimitWaitMs = 24 * 3_600_000;

/** `text` cut to `max` characters, `…` marking the cut. */
const cutText = (text: string, max: number) => (text.length <= max ? text : `${text.slice(0, max)}…`);

/** `createGraphClient` from the shared settings and one tenant's access token. */
export function graphClientFor(
  settings: GraphSettings,
  accessToken: string,
  extra: Pick<GraphClientOptions, 'log' | 'signal' | 'maxRetries'> = {},
): GraphClient {
  return createGraphClient({
    baseUrl: settings.graphUrl,
    version: settings.apiVersion,
    accessToken,
    timeoutMs: settings.timeoutMs,
    maxRetries: settings.maxRetries,
    retryBaseMs: settings.retryBaseMs,
    defaultRateLimitWaitMs: settings.defaultRateLimitWaitMs,
    maxResponseBytes: settings.maxResponseBytes,
    maxPages: settings.maxPages,
    ...extra,
  });
}

export type GraphParams = Record<string, string | number | undefined>;

/** One page of a Graph edge. `after` is the cursor of the NEXT page (null on the last one). */
export interface GraphPage<T> {
  data: T[];
  after: string | null;
  usage: GraphUsage;
  /** This page's number in the edge, 1-based, counting the `pagesDone` of earlier runs. */
  page: number;
}

export interface GraphClient {
  /** GET one object or edge page. Throws the typed errors of errors.ts. */
  get<T>(path: string, params?: GraphParams): Promise<{ body: T; usage: GraphUsage }>;
  /**
   * POST a JSON body to an edge (e.g. the Conversions API `/<dataset>/events`). Same errors and
   * retries as `get`: callers must make the body idempotent on Meta's side (CAPI dedupes on event_id).
   */
  post<T>(path: string, body: unknown): Promise<{ body: T; usage: GraphUsage }>;
  /**
   * Every page of an edge, following `paging.next` to the end (its `access_token` query parameter
   * is stripped: the token travels only in the header). `after` resumes at a saved cursor, with
   * `pagesDone` pages of the edge already fetched by earlier runs (they count toward `maxPages`).
   * Throws `MetaBadResponse` when a `next` leads to a cursor already followed ('cursor_repeat'),
   * when the edge is still not done after `maxPages` pages ('page_cap'), or when a page holds more
   * than twice the `limit` asked for ('too_many_rows').
   */
  paginate<T>(path: string, params?: GraphParams, after?: string | null, pagesDone?: number): AsyncGenerator<GraphPage<T>>;
  /** HTTP requests sent so far (retries included). */
  readonly requestCount: number;
  /** Usage reported by the last answer. */
  readonly lastUsage: GraphUsage;
}

interface GraphErrorBody {
  error?: { message?: string; type?: string; code?: number; error_subcode?: number; fbtrace_id?: string };
}

interface PagedBody<T> {
  data?: T[];
  paging?: { cursors?: { before?: string; after?: string }; next?: string };
}

/** Creates a Graph API client bound to one access token (one tenant's ad account). */
export function createGraphClient(options: GraphClientOptions): GraphClient {
  const base = new URL(options.baseUrl);
  const version = options.version.replace(/^\/+|\/+$/g, '');
  const timeoutMs = options.timeoutMs ?? 60_000;
  const maxRetries = options.maxRetries ?? 4;
  const retryBaseMs = options.retryBaseMs ?? 500;
  const defaultWaitMs = options.defaultRateLimitWaitMs ?? 5 * 60_000;
  const maxResponseBytes = options.maxResponseBytes ?? defaultMaxResponseBytes;
  const maxPages = options.maxPages ?? defaultMaxPages;
  const doFetch = options.fetch ?? fetch;
  const token = options.accessToken;
  let requestCount = 0;
  let lastUsage: GraphUsage = { maxPct: 0, regainAccessMs: 0 };

  // Meta's messages do not echo tokens, but an error string must never be able to leak one.
  const scrub = (text: string) => (token ? text.split(token).join('[redacted]') : text);

  function buildUrl(path: string, params: GraphParams): URL {
    const url = new URL(`/${version}/${path.replace(/^\/+/, '')}`, base);
    for (const [k, v] of Object.entries(params)) if (v !== undefined) url.searchParams.set(k, String(v));
    return url;
  }

  /** `paging.next` from Meta carries `access_token=`: drop it, and refuse to follow it off our origin. */
  function safeNextUrl(next: string): URL {
    const url = new URL(next);
    if (url.origin !== base.origin) throw new MetaRequestError('paging.next points to another host', { status: 0 });
    url.searchParams.delete('access_token');
    return url;
  }

  function classify(status: number, body: GraphErrorBody | null, headers: Headers, usage: GraphUsage): MetaApiError {
    const e = body?.error;
    const code = e?.code ?? null;
    const opts = { status, code, subcode: e?.error_subcode ?? null, fbtraceId: e?.fbtrace_id ?? null };
    // Meta's own message, cut: it goes into logs, the job's failure in Redis and `last_error`.
    const said = typeof e?.message === 'string' ? cutText(e.message, maxErrorMessageChars) : 'no error message';
    const message = scrub(`Meta Graph ${status}${code != null ? ` code ${code}` : ''}: ${said}`);
    if (status === 429 || isRateLimitCode(code)) {
      const retryAfter = Number(headers.get('retry-after') ?? 0) * 1_000;
      // Bounded: a wait of years (Retry-After: 99999999999) would delay the tenant's sync job for good,
      // and a tenant with a sync pending is never synced again by the tick.
      const waitMs = Math.min(
        maxRateLimitWaitMs,
        Math.max(usage.regainAccessMs, Number.isFinite(retryAfter) ? retryAfter : 0) || defaultWaitMs,
      );
      return new MetaRateLimited(message, { ...opts, waitMs, usage });
    }
    if (code === 190 || code === 102 || (status === 401 && code == null)) return new MetaTokenExpired(message, opts);
    if (status >= 500 || code === 1 || code === 2) return new MetaTransientError(message, opts);
    return new MetaRequestError(message, opts);
  }

  /**
   * The body as text, read chunk by chunk and cut off (the connection closed) as soon as it passes
   * `maxResponseBytes`: a huge page must not take the worker's heap and event loop, which every
   * tenant's webhook jobs share.
   */
  async function readCapped(res: Response, url: URL): Promise<string> {
    const tooLarge = (read: number) =>
      new MetaBadResponse(
        `Meta Graph response over ${maxResponseBytes} bytes (META_MAX_RESPONSE_MB): cut off after ${read} bytes of ${url.pathname}`,
        { status: res.status, reason: 'too_large' },
      );
    const declared = Number(res.headers.get('content-length'));
    if (declared > maxResponseBytes) {
      await res.body?.cancel().catch(() => {});
      throw tooLarge(0);
    }
    const read = await readWithLimit(res.body, maxResponseBytes);
    if (!read.ok) throw tooLarge(read.read);
    return read.bytes.toString('utf8');
  }

  /** One HTTP request: the parsed body, or the typed error it failed with. */
  async function send<T>(url: URL, json: string | undefined): Promise<{ body: T; usage: GraphUsage }> {
    requestCount++;
    const started = Date.now();
    let failure: MetaApiError;
    try {
      const res = await doFetch(url, {
        method: json === undefined ? 'GET' : 'POST',
        body: json,
        headers: {
          authorization: `Bearer ${token}`,
          accept: 'application/json',
          ...(json === undefined ? {} : { 'content-type': 'application/json' }),
        },
        signal: options.signal ? AbortSignal.any([options.signal, AbortSignal.timeout(timeoutMs)]) : AbortSignal.timeout(timeoutMs),
        // Graph never redirects an API call. Following one would take ad data from, or send a Conversions
        // API event (hashed user data) to, whatever host it names: past the origin check of `paging.next`.
        redirect: 'manual',
      });
      if (res.status >= 300 && res.status < 400) {
        await res.body?.cancel().catch(() => {});
        const to = res.headers.get('location');
        let host = 'no location';
        try {
          if (to) host = new URL(to, url).host;
        } catch {}
        throw new MetaRequestError(`Meta Graph ${res.status}: answered a redirect (to ${cutText(host, 100)}), not followed`, {
          status: res.status,
        });
      }
      const usage = parseGraphUsage(res.headers);
      lastUsage = usage;
      const text = await readCapped(res, url);
      let body: unknown = null;
      try {
        body = text ? JSON.parse(text) : null;
      } catch {
        body = null;
      }
      options.log?.debug(
        { path: url.pathname, status: res.status, ms: Date.now() - started, usagePct: usage.maxPct },
        'meta graph request',
      );
      if (res.ok && body !== null) return { body: body as T, usage };
      failure = res.ok
        ? new MetaTransientError(`Meta Graph ${res.status}: response is not JSON`, { status: res.status })
        : classify(res.status, body as GraphErrorBody | null, res.headers, usage);
    } catch (err) {
      // A bad body or a redirect: final, never retried.
      if (err instanceof MetaRequestError) throw err;
      if (options.signal?.aborted) throw new MetaTransientError('Meta Graph request aborted (shutting down)', { status: 0 });
      const name = (err as Error).name;
      const what = name === 'TimeoutError' || name === 'AbortError' ? `timed out after ${timeoutMs} ms` : scrub(networkErrorText(err));
      failure = new MetaTransientError(`Meta Graph request ${what}`, { status: 0 });
    }
    throw failure;
  }

  /** `send` with the client's retries of transient failures (5xx, network, timeouts); rate limits are not retried here. */
  function request<T>(url: URL, json?: string): Promise<{ body: T; usage: GraphUsage }> {
    return retry(() => send<T>(url, json), {
      retries: maxRetries,
      baseMs: retryBaseMs,
      maxMs: 10_000,
      retryable: (err) => err instanceof MetaTransientError,
      signal: options.signal,
      onRetry: ({ err, attempt, waitMs }) =>
        options.log?.warn({ path: url.pathname, attempt, waitMs: Math.round(waitMs), err: (err as Error).message }, 'meta graph retry'),
    }).catch((err: unknown) => {
      if (err instanceof MetaApiError) throw err;
      throw new MetaTransientError('Meta Graph retry aborted (shutting down)', { status: 0 });
    });
  }

  return {
    get: (path, params = {}) => request(buildUrl(path, params)),
    post: (path, body) => request(buildUrl(path, {}), JSON.stringify(body)),
    async *paginate<T>(path: string, params: GraphParams = {}, after?: string | null, pagesDone = 0) {
      let url: URL | null = buildUrl(path, after ? { ...params, after } : params);
      const limit = Number(params.limit);
      // Cursors followed in this run: Meta's cursors move forward, so seeing one again means a loop.
      const followed = new Set<string>(after ? [after] : []);
      let page = pagesDone;
      while (url) {
        const { body, usage }: { body: PagedBody<T>; usage: GraphUsage } = await request<PagedBody<T>>(url);
        page++;
        const data = body.data ?? [];
        if (limit > 0 && data.length > 2 * limit)
          throw new MetaBadResponse(`Meta Graph page held ${data.length} rows for limit=${limit}: ${path}`, {
            status: 200,
            reason: 'too_many_rows',
          });
        const next: string | undefined = body.paging?.next;
        const cursor = next ? (body.paging?.cursors?.after ?? new URL(next).searchParams.get('after')) : null;
        url = next ? safeNextUrl(next) : null;
        if (url) {
          const key = cursor ?? url.search;
          if (followed.has(key))
            throw new MetaBadResponse(`Meta Graph paging repeated a cursor after ${page} pages: ${path}`, {
              status: 200,
              reason: 'cursor_repeat',
            });
          followed.add(key);
          if (page >= maxPages)
            throw new MetaBadResponse(`Meta Graph paging did not end after ${maxPages} pages (META_MAX_PAGES): ${path}`, {
              status: 200,
              reason: 'page_cap',
            });
        }
        yield { data, after: cursor, usage, page } satisfies GraphPage<T>;
      }
    },
    get requestCount() {
      return requestCount;
    },
    get lastUsage() {
      return lastUsage;
    },
  };
}
