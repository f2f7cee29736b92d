import { type ErrorCode, errorResponse, McbError, unreachableErrorCodes } from '@mcb/core';
import type { Context, MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { RequestIdVariables } from 'hono/request-id';

/** Hono environment of the console: every request carries a request id. */
export type ConsoleEnv = { Variables: RequestIdVariables };

/**
 * What a console error says: an `McbError` as it is; a backing service that did not answer as `503
 * unavailable` naming its address and what to check (it read `500 Internal error`, the cause only in the
 * server log: faults walk, stop 37); anything else `500` with its message hidden.
 */
export function describeThrown(err: unknown): { code: ErrorCode; message: string } {
  if (err instanceof McbError) return { code: err.code, message: err.message };
  const { code, address, port } = (err ?? {}) as { code?: unknown; address?: unknown; port?: unknown };
  // query_canceled: the pool's statement_timeout (CONSOLE_STATEMENT_TIMEOUT_MS) stopped it.
  if (code === '57014')
    return {
      code: 'bad_request',
      message:
        'The query ran past the console’s time limit (CONSOLE_STATEMENT_TIMEOUT_MS) and was stopped: narrow it — a tenant, a status, a shorter time window or a more specific search text',
    };
  if (typeof code === 'string' && unreachableErrorCodes.has(code)) {
    const where = typeof address === 'string' ? ` at ${address}${typeof port === 'number' ? `:${port}` : ''}` : '';
    return {
      code: 'unavailable',
      message: `A service the console reads did not answer (${code}${where}): check that Postgres and Redis run and that DATABASE_URL and REDIS_URL point at them; the console recovers on its own once they answer`,
    };
  }
  return { code: 'internal_error', message: 'Internal error' };
}

/** Maps any thrown value to the error body (`describeThrown`). */
export function errorFromThrown(c: Context<ConsoleEnv>, err: unknown) {
  const { code, message } = describeThrown(err);
  return errorResponse(c, code, message);
}

/**
 * Refuses (`bad_request`) a query parameter given more than once (`c.req.queries()`): `c.req.query()`
 * reads only the first, so `?tenant=a&tenant=b` would answer for `a` alone and `?tenant=&tenant=a` for
 * every tenant, without a word.
 */
export function assertSingleValues(queries: Record<string, string[]>): void {
  for (const [name, values] of Object.entries(queries)) {
    if (values.length > 1) throw new McbError('bad_request', `Parameter ${name} is given ${values.length} times: give it once`);
  }
}

/** A positive integer path parameter (log ids), else null. */
export function parseId(text: string | undefined): number | null {
  if (!text || !/^\d{1,15}$/.test(text)) return null;
  const id = Number(text);
  return id > 0 ? id : null;
}

/** Largest body `/login` and `/logout` take: a sign-in form is well under 1 KB. */
export const formBodyLimitBytes = 8 * 1024;
/** Largest body a route under `/admin` takes: the replay filter, Bull Board's job actions. */
export const adminBodyLimitBytes = 64 * 1024;

/**
 * Refuses a body over `maxBytes` with 413 `payload_too_large` before the route reads it: by its
 * `Content-Length`, or, when it has none, once that many bytes have arrived (never more are held).
 * The connection is closed, so the rest of the body is not drained.
 */
export function limitBody(maxBytes: number): MiddlewareHandler<ConsoleEnv> {
  return bodyLimit({
    maxSize: maxBytes,
    onError: (c) => {
      c.header('Connection', 'close');
      return errorResponse(c, 'payload_too_large', `Payload too large: the limit is ${maxBytes} bytes`);
    },
  });
}

/**
 * Whether an error on `path` is answered as a page: a browser asked (`Accept: text/html`) for one of the
 * console's pages, not its JSON API (`/admin/api`) nor Bull Board's (`/admin/queues/api`).
 */
export function wantsPage(path: string, accept: string | undefined): boolean {
  if (!accept?.includes('text/html')) return false;
  return !path.startsWith('/admin/api') && !path.startsWith('/admin/queues/api');
}
