import type { FunnelEventType } from '@mcb/sources/domain';
import { bigint, foreignKey, index, jsonb, pgTable, primaryKey, text, timestamp, unique, uuid } from 'drizzle-orm/pg-core';
import { type RowOf, rowMapper } from '../rows';
import { createdAt, tenantId } from './columns';
import { contacts } from './contacts';

/** What reports count. Unique per `(tenant, source, source_event_id)` so replays add nothing. */
export const funnelEvents = pgTable(
  'funnel_events',
  {
    id: uuid('id').notNull().defaultRandom(),
    tenantId: tenantId(),
    contactId: uuid('contact_id').notNull(),
    eventType: text('event_type').$type<FunnelEventType>().notNull(),
    occurredAt: timestamp('occurred_at', { withTimezone: true }).notNull(),
    source: text('source').notNull(),
    sourceEventId: text('source_event_id').notNull(),
    webhookLogId: bigint('webhook_log_id', { mode: 'number' }),
    data: jsonb('data').$type<Record<string, unknown>>().notNull().default({}),
    createdAt: createdAt(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.id] }),
    unique('funnel_events_source_event_unique').on(t.tenantId, t.source, t.sourceEventId),
    foreignKey({ columns: [t.tenantId, t.contactId], foreignColumns: [contacts.tenantId, contacts.id] }).onDelete('cascade'),
    index('funnel_events_occurred_idx').on(t.tenantId, t.occurredAt),
    index('funnel_events_type_occurred_idx').on(t.tenantId, t.eventType, t.occurredAt),
    // occurred_at and id too: a person's earliest event (weekly report "leads", the Conversions API's
    // Lead, ties by id) is one index-only probe, however many events they have.
    index('funnel_events_contact_idx').on(t.tenantId, t.contactId, t.occurredAt, t.id),
    // The Conversions API outbox scans the events recorded in the last days (packages/capi).
    index('funnel_events_created_idx').on(t.tenantId, t.createdAt, t.id),
  ],
);

export type FunnelEvent = typeof funnelEvents.$inferSelect;
/** A `funnel_events` row as SQL returns it (snake_case column names, schema types). */
export type FunnelEventRow = RowOf<typeof funnelEvents>;
/** `funnel_events` row (whole or some columns) → `FunnelEvent` fields: the table's one mapper (ADR 0018). */
export const toFunnelEvent = rowMapper(funnelEvents);
