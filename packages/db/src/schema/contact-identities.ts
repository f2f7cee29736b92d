import { sql } from 'drizzle-orm';
import { bigint, check, foreignKey, index, pgTable, primaryKey, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { type RowOf, rowMapper } from '../rows';
import { tenantId } from './columns';
import { contacts } from './contacts';

export const identityKinds = ['mc_id', 'ghl_id', 'stripe_customer_id', 'email', 'phone'] as const;
export type IdentityKind = (typeof identityKinds)[number];

/**
 * Every identifier a person was ever known by (SPEC §6.1, §6.2): one row per tenant, kind and value
 * (emails lowercased, phones E.164), pointing at the live contact. Merges move rows to the survivor,
 * never delete them, so an old ManyChat subscriber id, GHL id, Stripe customer, email or phone keeps
 * matching. `source` / `webhook_log_id` say where the identifier was first learned;
 * `merged_from_id` the record it belonged to before a merge moved it.
 */
export const contactIdentities = pgTable(
  'contact_identities',
  {
    tenantId: tenantId(),
    kind: text('kind').$type<IdentityKind>().notNull(),
    value: text('value').notNull(),
    contactId: uuid('contact_id').notNull(),
    source: text('source'),
    webhookLogId: bigint('webhook_log_id', { mode: 'number' }),
    mergedFromId: uuid('merged_from_id'),
    firstSeenAt: timestamp('first_seen_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.kind, t.value] }),
    foreignKey({ columns: [t.tenantId, t.contactId], foreignColumns: [contacts.tenantId, contacts.id] }).onDelete('cascade'),
    index('contact_identities_contact_idx').on(t.tenantId, t.contactId),
    check('contact_identities_kind_check', sql`${t.kind} in ('mc_id','ghl_id','stripe_customer_id','email','phone')`),
  ],
);

export type ContactIdentity = typeof contactIdentities.$inferSelect;
/** A `contact_identities` row as SQL returns it (snake_case column names, schema types). */
export type ContactIdentityRow = RowOf<typeof contactIdentities>;
/** `contact_identities` row (whole or some columns) → `ContactIdentity` fields: the table's one mapper (ADR 0018). */
export const toContactIdentity = rowMapper(contactIdentities);
