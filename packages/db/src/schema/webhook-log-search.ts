import { bigint, foreignKey, index, pgTable, primaryKey, text } from 'drizzle-orm/pg-core';
import { type RowOf, rowMapper } from '../rows';
import { tenantId } from './columns';
import { webhookLogs } from './webhook-logs';

/**
 * Operator search text of each webhook log (event type, dedupe key, the payload's id- and email-like
 * values; `mcb_webhook_search_text` in drizzle/), trigram-indexed. Written by triggers (drizzle/0010) when
 * a worker picks the log up, or at once for a rejected log — never on the intake path of accepted logs —
 * and refreshed when its event type changes; never by application code. A table of its own so the
 * status updates every log goes through never touch the trigram index (measured in
 * `npm run bench -- console-search`).
 */
export const webhookLogSearch = pgTable(
  'webhook_log_search',
  {
    id: bigint('id', { mode: 'number' }).generatedAlwaysAsIdentity(),
    tenantId: tenantId(),
    logId: bigint('log_id', { mode: 'number' }).notNull(),
    searchText: text('search_text').notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.id] }),
    foreignKey({
      name: 'webhook_log_search_log_fk',
      columns: [t.tenantId, t.logId],
      foreignColumns: [webhookLogs.tenantId, webhookLogs.id],
    }).onDelete('cascade'),
    index('webhook_log_search_log_idx').on(t.tenantId, t.logId),
    index('webhook_log_search_trgm_idx').using('gin', t.searchText.op('gin_trgm_ops')),
  ],
);

export type WebhookLogSearch = typeof webhookLogSearch.$inferSelect;
/** A `webhook_log_search` row as SQL returns it (snake_case column names, schema types). */
export type WebhookLogSearchRow = RowOf<typeof webhookLogSearch>;
/** `webhook_log_search` row (whole or some columns) → `WebhookLogSearch` fields: the table's one mapper (ADR 0018). */
export const toWebhookLogSearch = rowMapper(webhookLogSearch);
