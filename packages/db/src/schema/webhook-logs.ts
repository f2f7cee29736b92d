import type { Source } from '@mcb/sources/domain';
import { sql } from 'drizzle-orm';
import {
  bigint,
  customType,
  foreignKey,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';
import { type RowOf, rowMapper } from '../rows';
import { tenantId } from './columns';
import { tenants } from './tenants';

export const webhookStatuses = ['received', 'processing', 'processed', 'ignored', 'failed', 'duplicate', 'rejected'] as const;
export type WebhookStatus = (typeof webhookStatuses)[number];

/** `bytea` as a Node Buffer. */
const bytea = customType<{ data: Buffer; driverData: Buffer }>({ dataType: () => 'bytea' });

/**
 * One row per accepted or rejected request, updated in place as it moves
 * `received → processing → processed | ignored | failed`. Dedupe covers accepted rows only.
 */
export const webhookLogs = pgTable(
  'webhook_logs',
  {
    id: bigint('id', { mode: 'number' }).generatedAlwaysAsIdentity(),
    tenantId: tenantId(),
    source: text('source').$type<Source>().notNull(),
    eventType: text('event_type'),
    dedupeKey: text('dedupe_key').notNull(),
    headers: jsonb('headers').$type<Record<string, string>>().notNull().default({}),
    payload: jsonb('payload'),
    // Exact body bytes when `payload` is not the exact body (array, sanitized, unparseable, not JSON);
    // for rejected rows the first 8 KB (SPEC §3). Body secrets are masked.
    rawBody: bytea('raw_body'),
    status: text('status').$type<WebhookStatus>().notNull().default('received'),
    errorMessage: text('error_message'),
    attempts: integer('attempts').notNull().default(0),
    receivedAt: timestamp('received_at', { withTimezone: true }).notNull().defaultNow(),
    enqueuedAt: timestamp('enqueued_at', { withTimezone: true }),
    processedAt: timestamp('processed_at', { withTimezone: true }),
    // While `failed`: when the retry BullMQ was asked for is due (null: no retry pending, the failure is
    // final). The reconciler runs the log again if that retry's job is lost (SPEC §10.4).
    retryAt: timestamp('retry_at', { withTimezone: true }),
    contactId: uuid('contact_id'),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.id] }),
    foreignKey({ columns: [t.tenantId], foreignColumns: [tenants.id] }).onDelete('cascade'),
    // UNIQUE(tenant_id, source, dedupe_key) over accepted rows: a rejected (forged or
    // misconfigured) delivery must never block the genuine one that follows (SPEC §3).
    uniqueIndex('webhook_logs_dedupe_unique').on(t.tenantId, t.source, t.dedupeKey).where(sql`status <> 'rejected'`),
    // Workers resolve a job's `{ logId }` to its tenant through this index (admin path).
    index('webhook_logs_id_idx').on(t.id),
    index('webhook_logs_tenant_received_idx').on(t.tenantId, t.receivedAt, t.id),
    index('webhook_logs_tenant_status_idx').on(t.tenantId, t.status, t.id),
    // The reconciler's walk over rows not yet finished (SPEC §10.4).
    index('webhook_logs_pending_idx').on(t.id).where(sql`status IN ('received', 'processing')`),
    // ...and over rows failed with a retry promised.
    index('webhook_logs_retry_idx').on(t.id).where(sql`status = 'failed' AND retry_at IS NOT NULL`),
  ],
);

export type WebhookLog = typeof webhookLogs.$inferSelect;
/** A `webhook_logs` row as SQL returns it (snake_case column names, schema types). */
export type WebhookLogRow = RowOf<typeof webhookLogs>;
/** `webhook_logs` row (whole or some columns) → `WebhookLog` fields: the table's one mapper (ADR 0018). */
export const toWebhookLog = rowMapper(webhookLogs);
