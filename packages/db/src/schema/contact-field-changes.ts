import { bigint, foreignKey, index, pgTable, primaryKey, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { type RowOf, rowMapper } from '../rows';
import { tenantId } from './columns';
import { contacts } from './contacts';

/** Lineage: every change to a contact field, with the webhook log that caused it. Append-only. */
export const contactFieldChanges = pgTable(
  'contact_field_changes',
  {
    id: bigint('id', { mode: 'number' }).generatedAlwaysAsIdentity(),
    tenantId: tenantId(),
    contactId: uuid('contact_id').notNull(),
    field: text('field').notNull(),
    oldValue: text('old_value'),
    newValue: text('new_value'),
    webhookLogId: bigint('webhook_log_id', { mode: 'number' }),
    changedAt: timestamp('changed_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.id] }),
    foreignKey({ columns: [t.tenantId, t.contactId], foreignColumns: [contacts.tenantId, contacts.id] }).onDelete('cascade'),
    index('contact_field_changes_contact_idx').on(t.tenantId, t.contactId, t.changedAt),
  ],
);

export type ContactFieldChange = typeof contactFieldChanges.$inferSelect;
/** A `contact_field_changes` row as SQL returns it (snake_case column names, schema types). */
export type ContactFieldChangeRow = RowOf<typeof contactFieldChanges>;
/** `contact_field_changes` row (whole or some columns) → `ContactFieldChange` fields: the table's one mapper (ADR 0018). */
export const toContactFieldChange = rowMapper(contactFieldChanges);
