import type { IncomingMessage } from 'node:http';
import {
  type AccessLine,
  createAccessLog,
  errorResponse,
  KeyedRateLimiter,
  type Logger,
  MissingCredentials,
  redactUrl,
  UnknownTenant,
  withTimeout,
} from '@mcb/core';
import { describeSignatureFailure, intakeProblem, type Source, sources, type VerifyOptions, verifyWebhook } from '@mcb/sources';
import { activeWebhookSecrets, type TenantContext, type TenantContextLoader, TenantLookupsBusy } from '@mcb/tenancy';
import type { Context, Hono } from 'hono';
import type { ReceiverEnvVars } from '../http';
import { headersFromRaw, intakeCharge, readBodyWithLimit } from '../intake/body';
import type { BodyBudget } from '../intake/body-budget';
import { carriesCredentials } from '../intake/credentials';
import type { GroupCommitter, IntakeRow } from '../intake/group-commit';
import {
  bodyText,
  buildAcceptedRow,
  buildRejectedRow,
  buildUnparseableRow,
  maxJsonContainers,
  maxJsonDepth,
  maxJsonItems,
  parseBody,
} from '../intake/row';
import type { IntakeOutcomeLabel, ReceiverMetrics } from '../metrics';

export interface WebhookRouteDeps {
  tenants: TenantContextLoader;
  committer: GroupCommitter;
  metrics: ReceiverMetrics;
  log: Logger;
  bodyLimitBytes: number;
  verifyOptions: VerifyOptions;
  now: () => Date;
  /** Bound on the tenant lookup (a cache miss reads Postgres): past it the answer is 503. */
  dbTimeoutMs: number;
  /**
   * Per-tenant budgets of stored rejections (SPEC §3), one per kind so that junk anyone can post to a
   * tenant's URL cannot crowd out the evidence of its own misconfigured sender: `credentialed` for
   * rejections that carried a signature or secret (`carriesCredentials`), `junk` for the rest. Past
   * its budget a rejection is only counted.
   */
  rejectionBudgets: { credentialed: KeyedRateLimiter; junk: KeyedRateLimiter };
  /** Longest a request body may take to arrive (ms); past it `408 request_timeout`, nothing stored. */
  bodyReadTimeoutMs: number;
  /** The pace a body must keep within `bodyReadTimeoutMs` (`readBodyWithLimit`). */
  bodyReadPace: { graceMs: number; bytesPerSecond: number };
  /** Bytes of bodies held at once, process-wide and per tenant; past either `503` with `Retry-After`. */
  bodyBudget: BodyBudget;
  /**
   * Per-tenant budget of verified intake bytes (tokens are bytes, `perSecond` their refill): past it
   * a verified delivery is answered `429 rate_limited` with `Retry-After`, and nothing is stored.
   */
  intakeBytes: { limiter: KeyedRateLimiter; perSecond: number };
}

/** `Retry-After` (seconds) of a 503 for a full body budget: reservations last a request, a few ms normally. */
export const bodyBudgetRetryAfterSeconds = 5;

const sourceSet = new Set<string>(sources);
const isSource = (s: string): s is Source => sourceSet.has(s);

const failureMessages: Record<string, string> = {
  missing_signature: 'Invalid signature: no signature or secret was sent',
  invalid_signature: 'Invalid signature',
  stale_timestamp: 'Invalid signature: timestamp outside the tolerance',
  foreign_location: "Invalid signature: signed for a GHL location that is not this tenant's",
  shared_location: 'Invalid signature: signed for a GHL location that more than one tenant names',
};

/** What a verified body that is stored raw (`failed`, never parsed) has, by `parseBody`'s reason. */
const storedRawReasons = {
  too_deep: `JSON nested deeper than ${maxJsonDepth} levels`,
  too_many_containers: `more than ${maxJsonContainers} JSON objects and arrays`,
  too_many_items: `more than ${maxJsonItems} JSON array elements and object members`,
  oversized_number: 'a JSON number past what Postgres stores compactly (exponent of 3+ digits or 1,000+ digits)',
} as const;

type Resolved = { ok: true; ctx: TenantContext; source: Source } | { ok: false; response: Response; outcome: IntakeOutcomeLabel };

/** Characters of a URL segment echoed in a 404 or written to the access log: slugs are 2-40 (SPEC §2), sources shorter. */
export const echoedSegmentLimit = 64;

/**
 * A segment of the request path as the sender wrote it, cut to `echoedSegmentLimit` characters with
 * `…` marking the cut (never half a surrogate pair): anyone can post to any path, and a 5,000-character
 * slug must not come back in the answer nor fill the logs.
 */
export function echoedSegment(text: string): string {
  if (text.length <= echoedSegmentLimit) return text;
  const cut = text.slice(0, echoedSegmentLimit);
  return `${/[\uD800-\uDBFF]$/.test(cut) ? cut.slice(0, -1) : cut}…`;
}

/** A path with each segment cut by `echoedSegment`; a path no longer than the limit is returned as it is. */
const boundedPath = (path: string) => (path.length <= echoedSegmentLimit ? path : path.split('/').map(echoedSegment).join('/'));

/**
 * `POST /api/webhooks/:tenant/:source` — resolve, verify, persist (group commit), enqueue, answer —
 * and `GET` on the same path (health check that never reveals secrets or integrations). Answers
 * follow the SPEC §3 table row by row.
 */
export function registerWebhookRoutes(app: Hono<ReceiverEnvVars>, deps: WebhookRouteDeps): void {
  const { tenants, committer, metrics, log } = deps;
  const access = createAccessLog(log);
  // One warning per tenant per minute when its sender is rate limited (the counter has every refusal).
  const rateLimitedWarnings = new KeyedRateLimiter({ perSecond: 1 / 60, burst: 1 });

  const resolve = async (c: Context<ReceiverEnvVars>, slug: string, source: string): Promise<Resolved> => {
    try {
      const ctx = await withTimeout(tenants.getTenantContext(slug), deps.dbTimeoutMs, 'tenant lookup');
      if (!isSource(source))
        return {
          ok: false,
          response: errorResponse(c, 'unknown_source', `Unknown source: ${echoedSegment(source)}`),
          outcome: 'unknown_source',
        };
      return { ok: true, ctx, source };
    } catch (err) {
      if (err instanceof UnknownTenant) {
        return {
          ok: false,
          response: errorResponse(c, 'unknown_tenant', `Unknown tenant: ${echoedSegment(slug)}`),
          outcome: 'unknown_tenant',
        };
      }
      if (err instanceof TenantLookupsBusy) {
        // Unknown slugs flooding in (real tenants are cached): answered at once, counted in the access log only.
        c.header('Retry-After', '1');
        return { ok: false, response: errorResponse(c, 'unavailable', 'Service busy, retry later'), outcome: 'busy' };
      }
      log.error({ requestId: c.get('requestId'), err: (err as Error).message }, 'tenant lookup failed');
      return { ok: false, response: errorResponse(c, 'unavailable', 'Service unavailable, retry later'), outcome: 'unavailable' };
    }
  };

  app.get('/api/webhooks/:tenant/:source', async (c) => {
    const r = await resolve(c, c.req.param('tenant'), c.req.param('source'));
    if (!r.ok) return r.response;
    return c.json({ status: 'ok', tenant: r.ctx.slug, source: r.source });
  });

  app.post('/api/webhooks/:tenant/:source', async (c) => {
    const started = performance.now();
    const slug = c.req.param('tenant');
    const sourceParam = c.req.param('source');
    let tenantLabel = '_unknown';
    let tenantId: string | undefined;
    let sourceLabel = '_unknown';
    let logId: number | null = null;
    let reason: string | undefined;

    const finish = (response: Response, outcome: IntakeOutcomeLabel) => {
      const seconds = (performance.now() - started) / 1000;
      // Read by the request's span (tracing.ts), which exists only when tracing is on.
      if (c.get('traceContext') !== undefined)
        c.set('intake', { tenant: tenantLabel, tenantId, source: sourceLabel, outcome, logId: logId ?? undefined });
      metrics.requests.inc({ tenant: tenantLabel, source: sourceLabel, status: String(response.status), outcome });
      metrics.latency.observe({ source: sourceLabel, outcome }, seconds);
      const line: AccessLine = {
        requestId: c.get('requestId'),
        // The path as sent, each segment bounded: an unknown slug or source is echoed at most in part.
        url: boundedPath(redactUrl(c.req.path)),
        tenant: tenantLabel,
        source: sourceLabel,
        status: response.status,
        outcome,
        id: logId ?? undefined,
        reason,
        ms: Math.round(seconds * 10_000) / 10,
      };
      access(response.status >= 500 ? 'error' : response.status >= 400 ? 'warn' : 'info', line, 'webhook');
      return response;
    };

    const r = await resolve(c, slug, sourceParam);
    if (!r.ok) return finish(r.response, r.outcome);
    const { ctx, source } = r;
    tenantLabel = ctx.slug;
    tenantId = ctx.id;
    sourceLabel = source;

    // The body's bytes are held against the tenant's share of the body budget until the answer.
    const lease = deps.bodyBudget.lease(ctx.id);
    try {
      // Under @hono/node-server, Node's own request stream (tests calling app.request() have none).
      const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
      const body = await readBodyWithLimit(incoming ?? c.req.raw, deps.bodyLimitBytes, {
        deadlineMs: deps.bodyReadTimeoutMs,
        pace: deps.bodyReadPace,
        lease,
      });
      if (!body.ok) {
        if (body.reason === 'timeout') {
          reason = 'body not received in time (it stalled, or took longer than BODY_READ_TIMEOUT_MS)';
          c.header('Connection', 'close');
          return finish(errorResponse(c, 'request_timeout', 'Request timeout: the body did not arrive in time'), 'request_timeout');
        }
        if (body.reason === 'aborted') {
          // The sender went away mid-body: nobody reads this answer; it is for the access log.
          reason = 'body aborted by the sender';
          return finish(errorResponse(c, 'bad_request', 'Request body aborted'), 'aborted');
        }
        if (body.reason === 'busy') {
          reason = `body budget full (${body.scope})`;
          metrics.bodyBudgetRefused.inc({ tenant: ctx.slug, scope: body.scope });
          c.header('Retry-After', String(bodyBudgetRetryAfterSeconds));
          return finish(errorResponse(c, 'unavailable', 'Service busy, retry later'), 'busy');
        }
        return finish(
          errorResponse(c, 'payload_too_large', `Payload too large: the limit is ${deps.bodyLimitBytes} bytes`),
          'payload_too_large',
        );
      }
      const bytes = body.bytes;
      const now = deps.now();
      // Node's raw header list, when there is a Node request (tests calling app.request() have none).
      const headers = incoming ? headersFromRaw(incoming.rawHeaders) : c.req.header();

      // Rejected requests are never parsed: a prefix of the body and the headers are kept as evidence,
      // within a per-tenant budget, and the answer is the same whether the row was stored or not.
      const urlEvent = c.req.query('event');
      const reject = async (code: 'missing_credentials' | 'invalid_signature' | 'invalid_json' | 'invalid_payload', message: string) => {
        const credentialed = carriesCredentials(source, headers, c.req.query(), bytes);
        const budget = credentialed ? deps.rejectionBudgets.credentialed : deps.rejectionBudgets.junk;
        if (!budget.take(ctx.id)) {
          metrics.rejectionsNotStored.inc({ tenant: ctx.slug, credentials: credentialed ? 'sent' : 'none' });
          return finish(errorResponse(c, code, message), code);
        }
        try {
          await committer.submit(
            buildRejectedRow({
              tenantId: ctx.id,
              source,
              bytes,
              headers,
              errorMessage: `${code}: ${reason && reason !== code ? reason : message}`,
            }),
          );
        } catch (err) {
          // The answer stays the same: storing a rejected delivery is for operators, not for the sender.
          log.warn({ requestId: c.get('requestId'), err: (err as Error).message }, 'could not store rejected webhook');
        }
        return finish(errorResponse(c, code, message), code);
      };

      const integration = ctx.credentials[source];
      if (!integration) {
        reason = 'no_integration';
        return reject('missing_credentials', new MissingCredentials(ctx.slug, source).message);
      }
      const verdict = verifyWebhook(source, bytes, headers, c.req.query(), activeWebhookSecrets(integration, now), now, {
        ...deps.verifyOptions,
        ghlLocationIds: ctx.config.ghl.location_ids,
        ghlSharedLocationIds: ctx.ghlSharedLocationIds,
      });
      if (!verdict.ok) {
        // For the stored row and the access line: what was checked and how to compare (never a value).
        reason = describeSignatureFailure(source, verdict.reason, headers, c.req.query(), ctx.slug) ?? verdict.reason;
        if (verdict.reason === 'no_secret') return reject('missing_credentials', new MissingCredentials(ctx.slug, source).message);
        return reject('invalid_signature', failureMessages[verdict.reason] ?? 'Invalid signature');
      }
      // Verified: the tenant's own sender. Its bytes (body and headers) are charged before anything is parsed or stored.
      // Never more than the whole budget: a body at the limit must be able to pass a budget that holds
      // just the body limit (its headers on top would make it refused for good; review of stop 38).
      const charge = Math.min(intakeCharge(bytes.byteLength, headers), Math.max(1, Math.round(deps.intakeBytes.perSecond * 60)));
      if (!deps.intakeBytes.limiter.take(ctx.id, charge)) {
        reason = 'tenant past its budget of intake bytes';
        metrics.intakeRateLimited.inc({ tenant: ctx.slug });
        if (rateLimitedWarnings.take(ctx.id))
          log.warn(
            { requestId: c.get('requestId'), tenant: ctx.slug, source, bytesPerMinute: Math.round(deps.intakeBytes.perSecond * 60) },
            'intake rate limited: tenant past its budget of accepted bytes (warned once a minute; all counted in mcb_receiver_intake_rate_limited_total)',
          );
        const retryAfter = Math.min(3_600, Math.max(1, Math.ceil(charge / deps.intakeBytes.perSecond)));
        c.header('Retry-After', String(retryAfter));
        return finish(errorResponse(c, 'rate_limited', `Rate limited: retry in ${retryAfter} s`), 'rate_limited');
      }

      const text = bodyText(bytes);
      const parsed = parseBody(text);
      let row: IntakeRow;
      if (parsed.ok) {
        const problem = intakeProblem(source, parsed.event);
        if (problem) {
          reason = problem;
          return reject('invalid_payload', problem);
        }
        row = buildAcceptedRow({ tenantId: ctx.id, source, bytes, text, parsed, headers, urlEvent });
      } else if (Object.hasOwn(storedRawReasons, parsed.reason)) {
        // Verified, so the provider gets its 200; stored raw and failed with the reason, never retried
        // forever — and never parsed into a row Postgres would refuse inside a shared transaction, nor one
        // that would cost every tenant's worker its parse.
        reason = storedRawReasons[parsed.reason as keyof typeof storedRawReasons];
        row = buildUnparseableRow({
          tenantId: ctx.id,
          source,
          bytes,
          headers,
          reason: `invalid payload: body has ${reason} (stored raw, not processed)`,
        });
      } else {
        reason = 'body is not JSON (or an empty array)';
        return reject('invalid_json', 'Invalid JSON: the body must be a JSON object or a non-empty array');
      }

      // The job this row gets carries the request's trace context (tracing on only).
      const traceContext = c.get('traceContext');
      if (traceContext !== undefined) row.trace = traceContext;
      try {
        const result = await committer.submit(row);
        logId = result.id;
        if (result.duplicate) return finish(c.json({ received: true, duplicate: true, id: result.id }), 'duplicate');
        if (result.storedRaw) reason = 'stored raw as failed (Postgres refused the parsed body)';
        return finish(c.json({ received: true, id: result.id }), 'accepted');
      } catch (err) {
        reason = (err as Error).message;
        return finish(errorResponse(c, 'unavailable', 'Service unavailable, retry later'), 'unavailable');
      }
    } finally {
      lease.release();
    }
  });
}
