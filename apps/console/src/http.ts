import { errorResponse, McbError } from '@mcb/core';
import type { Context } from 'hono';
import type { RequestIdVariables } from 'hono/request-id';

/** Hono environment of the console: every request carries a request id. */
export type ConsoleEnv = { Variables: RequestIdVariables };

/** Maps any thrown value to the error body; unexpected errors hide their message. */
export function errorFromThrown(c: Context<ConsoleEnv>, err: unknown) {
  if (err instanceof McbError) return errorResponse(c, err.code, err.message);
  return errorResponse(c, 'internal_error', 'Internal error');
}

/** A positive integer path parameter (log ids), else null. */
export function parseId(text: string | undefined): number | null {
  if (!text || !/^\d{1,15}$/.test(text)) return null;
  const id = Number(text);
  return id > 0 ? id : null;
}
