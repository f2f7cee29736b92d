import { errorResponse, McbError } from '@mcb/core';
import { type Database, decodeLogCursor } from '@mcb/db';
import {
  getQueueCounts,
  listQueueRefs,
  loadTenantStats,
  logFilterInputSchema,
  openLog,
  parseStatsQuery,
  previewReplay,
  replayWebhookLogIds,
  replayWebhookLogs,
  resolveLogFilter,
  searchLogs,
} from '@mcb/ops';
import type { QueueConnection, WebhookEnqueuer } from '@mcb/queue';
import { Hono } from 'hono';
import { z } from 'zod';
import { assertSingleValues, type ConsoleEnv, parseId } from '../http';

export interface AdminApiDeps {
  /** `mcb_admin`: lists across tenants, slug and log id lookups, stats. */
  admin: Database;
  /** `mcb_app`: one tenant's logs, read and replayed under that tenant. */
  app: Database;
  queue: QueueConnection;
  enqueuer: WebhookEnqueuer;
}

// Strict: an unknown field is refused, never dropped — a misspelt `dry_run` must not turn a dry run into
// a replay, nor a misspelt filter widen one.
const replayBodySchema = logFilterInputSchema.extend({ dryRun: z.boolean().optional(), confirm: z.number().int().optional() }).strict();
const replayFields = Object.keys(replayBodySchema.shape).join(', ');

/**
 * The admin JSON API (mounted at `/admin/api`, behind auth):
 * - `GET /logs?tenant=&source=&status=&since=&until=&q=&cursor=&limit=` → `{items, nextCursor}`
 * - `GET /logs/:id` → `{log}` with redacted headers, payload, and what it produced
 * - `POST /logs/:id/replay` → replay summary
 * - `POST /replay` `{tenant?, source?, status?, since?, until?, q?, dryRun?, confirm?}` → `{dryRun:true, matched, replayable,
 *   rejected, needsConfirmation, sample}` or the summary; more than `replayConfirmThreshold` logs need `confirm` equal to
 *   the dry run's `replayable` count. Rejected logs are never replayed.
 * - `GET /stats?tenant=&since=&until=` → `{since, until, tenants:[…]}` (`loadTenantStats`; an unknown or repeated parameter is a 400)
 * - `GET /queues` → job counts per queue and state
 */
export function createAdminApi(deps: AdminApiDeps) {
  const api = new Hono<ConsoleEnv>();
  const dbs = { admin: deps.admin, app: deps.app };
  const replayDeps = { ...dbs, enqueuer: deps.enqueuer };

  api.get('/logs', async (c) => {
    const { cursor, limit, ...rest } = c.req.query();
    const filter = await resolveLogFilter(deps.admin, rest);
    const position = cursor ? decodeLogCursor(cursor) : null;
    if (cursor && !position) throw new McbError('bad_request', 'Invalid cursor');
    const size = limit === undefined ? 50 : Number(limit);
    if (!Number.isInteger(size) || size < 1 || size > 500) throw new McbError('bad_request', 'Invalid limit: 1 to 500');
    return c.json(await searchLogs(dbs, filter, { cursor: position, limit: size }));
  });

  api.get('/logs/:id', async (c) => {
    const id = parseId(c.req.param('id'));
    const log = id ? await openLog(dbs, id) : null;
    if (!log) return errorResponse(c, 'not_found', `No webhook log ${c.req.param('id')}`);
    return c.json({ log });
  });

  api.post('/logs/:id/replay', async (c) => {
    const id = parseId(c.req.param('id'));
    const summary = id ? await replayWebhookLogIds(replayDeps, [id]) : null;
    if (!summary || summary.matched === 0) return errorResponse(c, 'not_found', `No webhook log ${c.req.param('id')}`);
    return c.json(summary);
  });

  api.post('/replay', async (c) => {
    const body = await c.req.json().catch(() => {
      throw new McbError('bad_request', 'Body must be JSON: {tenant?, source?, status?, since?, until?, q?, dryRun?}');
    });
    const parsed = replayBodySchema.safeParse(body);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const unknown = issue?.code === 'unrecognized_keys' ? issue.keys.join(', ') : null;
      throw new McbError(
        'bad_request',
        unknown
          ? `Unknown field ${unknown}: the body takes ${replayFields}`
          : `Invalid ${issue?.path.join('.') || 'body'}: ${issue?.message ?? 'invalid'} (dryRun is a boolean, confirm a whole number)`,
      );
    }
    const { dryRun, confirm, ...rest } = parsed.data;
    const filter = await resolveLogFilter(deps.admin, rest);
    if (Object.keys(filter).length === 0) {
      throw new McbError('bad_request', 'Refusing to replay every log: give at least one filter (tenant, source, status, since, until, q)');
    }
    const preview = await previewReplay(replayDeps, filter);
    if (dryRun) return c.json({ dryRun: true, ...preview });
    if (preview.needsConfirmation && confirm !== preview.replayable) {
      throw new McbError(
        'bad_request',
        `Replaying ${preview.replayable} logs needs confirmation: send "confirm": ${preview.replayable} (the dry run's replayable count)`,
      );
    }
    return c.json({ dryRun: false, ...(await replayWebhookLogs(replayDeps, filter)) });
  });

  api.get('/stats', async (c) => {
    assertSingleValues(c.req.queries());
    return c.json(await loadTenantStats(deps.admin, parseStatsQuery(c.req.query())));
  });

  api.get('/queues', async (c) => {
    return c.json({ queues: await getQueueCounts(deps.queue, await listQueueRefs(deps.admin), { workers: true }) });
  });

  return api;
}
