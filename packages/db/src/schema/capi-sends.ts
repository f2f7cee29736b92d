import { sql } from 'drizzle-orm';
import {
  bigint,
  check,
  foreignKey,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
  unique,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';
import { type RowOf, rowMapper } from '../rows';
import { createdAt, tenantId } from './columns';
import { funnelEvents } from './funnel-events';
import { tenants } from './tenants';

export const capiSendStatuses = ['pending', 'sent', 'skipped', 'failed'] as const;
export type CapiSendStatus = (typeof capiSendStatuses)[number];

/**
 * One row per funnel event and Meta event name sent (or deliberately not sent) to the tenant's Meta
 * Conversions API dataset (issue 17, ADR 0011). The unique key is the outbox's guard: a funnel event
 * is claimed once, so it is never sent twice. `payload` is the server event exactly as posted —
 * user data already SHA-256 hashed, never plaintext PII. `pending` rows carry a claim (`claimed_at`)
 * while one sender posts them; a claim older than the lease is picked up again (crashed worker).
 */
export const capiSends = pgTable(
  'capi_sends',
  {
    id: bigint('id', { mode: 'number' }).generatedAlwaysAsIdentity(),
    tenantId: tenantId(),
    funnelEventId: uuid('funnel_event_id').notNull(),
    contactId: uuid('contact_id').notNull(),
    webhookLogId: bigint('webhook_log_id', { mode: 'number' }),
    /** Meta event name (`Lead`, `Purchase`, a standard or custom event). */
    eventName: text('event_name').notNull(),
    /** Meta `event_id` (from the funnel event's dedupe key): browser and server copies deduplicate on it. */
    eventId: text('event_id').notNull(),
    eventTime: timestamp('event_time', { withTimezone: true }).notNull(),
    status: text('status').$type<CapiSendStatus>().notNull().default('pending'),
    /** Why a row is `skipped` or `failed` (never contains a token or unhashed PII). */
    reason: text('reason'),
    payload: jsonb('payload').$type<Record<string, unknown>>(),
    attempts: integer('attempts').notNull().default(0),
    claimedAt: timestamp('claimed_at', { withTimezone: true }),
    /** Meta's answer to the request that carried this event. */
    eventsReceived: integer('events_received'),
    fbtraceId: text('fbtrace_id'),
    sentAt: timestamp('sent_at', { withTimezone: true }),
    /**
     * The `test_event_code` a `sent` row went out with: it reached Events Manager's Test Events only,
     * not the dataset. When the integration leaves test mode such rows are sent again for real.
     */
    testEventCode: text('test_event_code'),
    createdAt: createdAt(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.id] }),
    unique('capi_sends_event_unique').on(t.tenantId, t.funnelEventId, t.eventName),
    check('capi_sends_status_check', sql`${t.status} in ('pending','sent','skipped','failed')`),
    foreignKey({ columns: [t.tenantId], foreignColumns: [tenants.id] }).onDelete('cascade'),
    foreignKey({
      name: 'capi_sends_funnel_event_fk',
      columns: [t.tenantId, t.funnelEventId],
      foreignColumns: [funnelEvents.tenantId, funnelEvents.id],
    }).onDelete('cascade'),
    // One Lead per person, whichever of their events came first.
    uniqueIndex('capi_sends_lead_unique').on(t.tenantId, t.contactId).where(sql`event_name = 'Lead'`),
    index('capi_sends_pending_idx').on(t.tenantId, t.id).where(sql`status = 'pending'`),
    index('capi_sends_log_idx').on(t.tenantId, t.webhookLogId),
    index('capi_sends_created_idx').on(t.tenantId, t.createdAt),
    index('capi_sends_test_idx').on(t.tenantId, t.id).where(sql`test_event_code is not null`),
  ],
);

export type CapiSend = typeof capiSends.$inferSelect;
/** A `capi_sends` row as SQL returns it (snake_case column names, schema types). */
export type CapiSendRow = RowOf<typeof capiSends>;
/** `capi_sends` row (whole or some columns) → `CapiSend` fields: the table's one mapper (ADR 0018). */
export const toCapiSend = rowMapper(capiSends);
