import type { Tracing } from '@mcb/telemetry';
import type { MiddlewareHandler } from 'hono';
import type { ReceiverEnvVars } from './http';

export const webhookRoute = '/api/webhooks/:tenant/:source';

/**
 * The span of one webhook delivery (`POST /api/webhooks/:tenant/:source`, kind server), registered
 * only when tracing is on. Its context travels with the row to the enqueue and, in the job, to the
 * worker (packages/telemetry). Attributes: tenant, source, outcome, log id, HTTP status — never the
 * body, the headers or the signature. A provider's own `traceparent` header is not followed: the
 * endpoint is public, so every delivery starts a trace of its own.
 */
export function traceWebhookRequests(tracing: Tracing): MiddlewareHandler<ReceiverEnvVars> {
  return async (c, next) => {
    if (c.req.method !== 'POST') return next();
    await tracing.inSpan(
      `POST ${webhookRoute}`,
      { kind: 'server', attributes: { 'http.request.method': 'POST', 'http.route': webhookRoute } },
      async (span) => {
        c.set('traceContext', span.metadata());
        await next();
        const intake = c.get('intake');
        span.setAttributes({
          'http.response.status_code': c.res.status,
          'mcb.tenant': intake?.tenant,
          'mcb.tenant_id': intake?.tenantId,
          'mcb.source': intake?.source,
          'mcb.outcome': intake?.outcome,
          'mcb.log_id': intake?.logId,
        });
        if (c.res.status >= 500) span.fail(intake?.outcome ?? `HTTP ${c.res.status}`);
      },
    );
  };
}
