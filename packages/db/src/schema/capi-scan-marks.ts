import { foreignKey, integer, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { type RowOf, rowMapper } from '../rows';
import { tenantId, updatedAt } from './columns';
import { tenants } from './tenants';

/**
 * How far a tenant's Conversions API outbox scan got (ADR 0017): the `(created_at, id)` of the last
 * funnel event every earlier run examined, so a run reads only what came since (less a settle
 * window). Valid for one event mapping (`config_key`); a run under another mapping starts over.
 */
export const capiScanMarks = pgTable(
  'capi_scan_marks',
  {
    tenantId: tenantId().primaryKey(),
    /** `funnel_events.created_at` of the last examined event. */
    createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
    funnelEventId: uuid('funnel_event_id').notNull(),
    /** The `lead` flag and event mapping the scan decided under. */
    configKey: text('config_key').notNull(),
    /**
     * Bumped by `mcb capi replay` (which may move the mark back): a run that read another generation
     * does not save its position, so it cannot carry the mark past the replayed events again.
     */
    generation: integer('generation').notNull().default(0),
    updatedAt: updatedAt(),
  },
  (t) => [foreignKey({ columns: [t.tenantId], foreignColumns: [tenants.id] }).onDelete('cascade')],
);

export type CapiScanMark = typeof capiScanMarks.$inferSelect;
/** A `capi_scan_marks` row as SQL returns it (snake_case column names, schema types). */
export type CapiScanMarkRow = RowOf<typeof capiScanMarks>;
/** `capi_scan_marks` row → `CapiScanMark` fields: the table's one mapper (ADR 0018). */
export const toCapiScanMark = rowMapper(capiScanMarks);
