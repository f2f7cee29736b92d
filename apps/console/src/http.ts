import { errorResponse, McbError } from '@mcb/core';
import type { Context, MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { RequestIdVariables } from 'hono/request-id';

/** Hono environment of the console: every request carries a request id. */
export type ConsoleEnv = { Variables: RequestIdVariables };

/** Maps any thrown value to the error body; unexpected errors hide their message. */
export function errorFromThrown(c: Context<ConsoleEnv>, err: unknown) {
  if (err instanceof McbError) return errorResponse(c, err.code, err.message);
  return errorResponse(c, 'internal_error', 'Internal error');
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
