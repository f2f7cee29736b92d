/** Default ManyChat API base URL (https://api.manychat.com/swagger). */
export const manyChatDefaultBaseUrl = 'https://api.manychat.com';

export interface ManyChatClientOptions {
  /** Base URL without trailing path (a local HTTP server in tests). */
  baseUrl?: string;
  /** Per-request timeout in ms. */
  timeoutMs?: number;
  /** Extra attempts on 5xx, 429, timeouts and network errors (so `retries + 1` requests at most). */
  retries?: number;
  /** First backoff delay in ms (doubles each time; a `Retry-After` header wins, capped at 10 s). */
  backoffMs?: number;
}

/**
 * A failed ManyChat call. `retryable` is true for 5xx / 429 / timeouts / network errors that outlived
 * the client's own retries (the job retries later), false for other 4xx (bad key, unknown subscriber).
 * The message never contains the API key.
 */
export class ManyChatError extends Error {
  constructor(
    message: string,
    readonly status: number | null,
    readonly retryable: boolean,
  ) {
    super(message);
    this.name = 'ManyChatError';
  }
}

export interface ManyChatClient {
  /**
   * `GET /fb/subscriber/getInfo?subscriber_id=…` → the parsed JSON answer (`{status, data}`).
   * `signal` aborts at once (shutdown): the error then has `name === 'AbortError'` and is not retried here.
   */
  getSubscriber(apiKey: string, subscriberId: string, options?: { signal?: AbortSignal }): Promise<unknown>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function retryAfterMs(header: string | null): number | null {
  if (!header) return null;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.min(10_000, Math.max(0, seconds * 1000));
  const at = Date.parse(header);
  return Number.isNaN(at) ? null : Math.min(10_000, Math.max(0, at - Date.now()));
}

/** Creates the ManyChat subscriber client (stateless; safe to share across tenants: the key is per call). */
export function createManyChatClient({
  baseUrl = manyChatDefaultBaseUrl,
  timeoutMs = 10_000,
  retries = 2,
  backoffMs = 250,
}: ManyChatClientOptions = {}): ManyChatClient {
  const root = baseUrl.replace(/\/+$/, '');
  return {
    async getSubscriber(apiKey, subscriberId, options = {}) {
      const url = `${root}/fb/subscriber/getInfo?subscriber_id=${encodeURIComponent(subscriberId)}`;
      let last: ManyChatError | null = null;
      for (let attempt = 0; attempt <= retries; attempt++) {
        let wait = backoffMs * 2 ** attempt;
        try {
          const res = await fetch(url, {
            headers: { authorization: `Bearer ${apiKey}`, accept: 'application/json' },
            signal: options.signal ? AbortSignal.any([options.signal, AbortSignal.timeout(timeoutMs)]) : AbortSignal.timeout(timeoutMs),
          });
          const text = await res.text();
          if (res.ok) {
            try {
              return JSON.parse(text) as unknown;
            } catch {
              throw new ManyChatError('ManyChat answered with invalid JSON', res.status, false);
            }
          }
          const retryable = res.status >= 500 || res.status === 429;
          last = new ManyChatError(`ManyChat getInfo failed: HTTP ${res.status}`, res.status, retryable);
          if (!retryable) throw last;
          wait = retryAfterMs(res.headers.get('retry-after')) ?? wait;
        } catch (err) {
          if (options.signal?.aborted) throw options.signal.reason ?? err;
          if (err instanceof ManyChatError && !err.retryable) throw err;
          if (!(err instanceof ManyChatError)) {
            const timeout = (err as Error).name === 'TimeoutError';
            last = new ManyChatError(`ManyChat getInfo ${timeout ? 'timed out' : `network error: ${(err as Error).message}`}`, null, true);
          }
        }
        if (attempt < retries) await sleep(wait);
      }
      throw last ?? new ManyChatError('ManyChat getInfo failed', null, true);
    },
  };
}
