import { type ErrorCode, httpStatusOf } from '@mcb/core';
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';

/** Hono variables the receiver sets on every request. */
export type ReceiverEnvVars = { Variables: { requestId: string } };

/** The error body every transport uses: `{error:{code,message,requestId}}`, status from the code. */
export function errorResponse(c: Context<ReceiverEnvVars>, code: ErrorCode, message: string) {
  return c.json({ error: { code, message, requestId: c.get('requestId') } }, httpStatusOf(code) as ContentfulStatusCode);
}
