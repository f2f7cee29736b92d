/** What a webhook request came to, for its trace span (tracing.ts); set by the route as it answers. */
export interface IntakeSummary {
  tenant: string;
  tenantId: string | undefined;
  source: string;
  outcome: string;
  logId: number | undefined;
}

/**
 * Hono variables the receiver sets on every request. `traceContext` (the request span's serialized
 * W3C context) and `intake` exist only when tracing is on.
 */
export type ReceiverEnvVars = { Variables: { requestId: string; traceContext: string | undefined; intake: IntakeSummary } };
