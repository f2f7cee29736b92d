import { foreignKey, index, pgTable, primaryKey, text } from 'drizzle-orm/pg-core';
import { type RowOf, rowMapper } from '../rows';
import { createdAt, tenantId } from './columns';
import { tenants } from './tenants';

/**
 * Identifiers that orphan payments may still wait on (SPEC §6.3), left by an apply transaction that met
 * more orphans than it links at once (`maxOrphansPerTransaction`, packages/contacts): a person arriving
 * for 100,000 orphans on one email linked them all in one transaction (39 s, other tenants' p99 7.1 s).
 * The worker's `orphans.link` job links the rest to the identifier's owner, a bounded number per
 * transaction, and deletes the row; the reconciler enqueues that job for rows left behind.
 */
export const orphanLinkBacklog = pgTable(
  'orphan_link_backlog',
  {
    tenantId: tenantId(),
    /** `contact_identities.kind`: email, phone or stripe_customer_id. */
    kind: text('kind').notNull(),
    value: text('value').notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.kind, t.value] }),
    foreignKey({ columns: [t.tenantId], foreignColumns: [tenants.id] }).onDelete('cascade'),
    // A step takes a tenant's oldest rows: without it, one step read every row of the tenant (69 ms at 100,000).
    index('orphan_link_backlog_age_idx').on(t.tenantId, t.createdAt),
  ],
);

export type OrphanLinkBacklogEntry = typeof orphanLinkBacklog.$inferSelect;
/** An `orphan_link_backlog` row as SQL returns it (snake_case column names, schema types). */
export type OrphanLinkBacklogRow = RowOf<typeof orphanLinkBacklog>;
/** `orphan_link_backlog` row (whole or some columns) → `OrphanLinkBacklogEntry` fields: the table's one mapper (ADR 0018). */
export const toOrphanLinkBacklogEntry = rowMapper(orphanLinkBacklog);
