import { networkErrorText, parseJsonExact, retry } from '@mcb/core';

/** Default ManyChat API base URL (https://api.manychat.com/swagger). */
export const manyChatDefaultBaseUrl = 'https://api.manychat.com';

export interface ManyChatClientOptions {
  /** Base URL without trailing path (a local HTTP server in tests). */
  baseUrl?: string;
  /** Per-request timeout in ms. */
  timeoutMs?: number;
  /** Extra attempts on 5xx, 429, timeouts and network errors (so `retries + 1` requests at most). */
  retries?: number;
  /** First backoff delay in ms (doubles each time up to 10 s, with jitter; a `Retry-After` header wins, capped at 10 s). */
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
    /** The wait ManyChat asked for (`Retry-After`, capped at 10 s), if any. */
    readonly retryAfterMs: number | null = null,
  ) {
    super(message);
    this.name = 'ManyChatError';
  }
}

export interface ManyChatClient {
  /**
   * `GET /fb/subscriber/getInfo?subscriber_id=…` → the parsed JSON answer (`{status, data}`).
   * `signal` aborts at once (shutdown), also a backoff wait: the error then is the signal's reason
   * (`name === 'AbortError'`) and is not retried here.
   */
  getSubscriber(apiKey: string, subscriberId: string, options?: { signal?: AbortSignal }): Promise<unknown>;
}

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
    getSubscriber(apiKey, subscriberId, options = {}) {
      const url = `${root}/fb/subscriber/getInfo?subscriber_id=${encodeURIComponent(subscriberId)}`;
      const { signal } = options;
      const once = async (): Promise<unknown> => {
        try {
          const res = await fetch(url, {
            headers: { authorization: `Bearer ${apiKey}`, accept: 'application/json' },
            signal: signal ? AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]) : AbortSignal.timeout(timeoutMs),
          });
          const text = await res.text();
          if (res.ok) {
            try {
              // Exact: ManyChat's API sends `ig_id` as a bare JSON number, and Instagram ids pass 2^53.
              return parseJsonExact(text);
            } catch {
              throw new ManyChatError('ManyChat answered with invalid JSON', res.status, false);
            }
          }
          const retryable = res.status >= 500 || res.status === 429;
          throw new ManyChatError(
            `ManyChat getInfo failed: HTTP ${res.status}`,
            res.status,
            retryable,
            retryAfterMs(res.headers.get('retry-after')),
          );
        } catch (err) {
          if (signal?.aborted) throw signal.reason ?? err;
          if (err instanceof ManyChatError) throw err;
          const timeout = (err as Error).name === 'TimeoutError';
          throw new ManyChatError(`ManyChat getInfo ${timeout ? 'timed out' : `network error: ${networkErrorText(err)}`}`, null, true);
        }
      };
      return retry(once, {
        retries,
        baseMs: backoffMs,
        retryable: (err) => err instanceof ManyChatError && err.retryable,
        waitOf: (err) => (err as ManyChatError).retryAfterMs,
        signal,
      });
    },
  };
}
