import { sql } from 'drizzle-orm';
import { foreignKey, index, jsonb, pgTable, primaryKey, text, timestamp, unique, uuid } from 'drizzle-orm/pg-core';
import { type RowOf, rowMapper } from '../rows';
import { createdAt, tenantId, updatedAt } from './columns';
import { tenants } from './tenants';

/** Per-field provenance for order independence (SPEC §6.7): which event set the value, and when. */
export type FieldMeta = Record<string, { at: string; logId: string }>;

/** One person per tenant, linked across tools. A merged record keeps `merged_into_id`. */
export const contacts = pgTable(
  'contacts',
  {
    id: uuid('id').notNull().defaultRandom(),
    tenantId: tenantId(),
    mcId: text('mc_id'),
    ghlId: text('ghl_id'),
    emailPrimary: text('email_primary'),
    emailBooking: text('email_booking'),
    emailPayment: text('email_payment'),
    phone: text('phone'),
    firstName: text('first_name'),
    lastName: text('last_name'),
    igUsername: text('ig_username'),
    igId: text('ig_id'),
    stripeCustomerId: text('stripe_customer_id'),
    stage: text('stage'),
    source: text('source'),
    adId: text('ad_id'),
    tags: jsonb('tags').$type<Record<string, unknown>>().notNull().default({}),
    mergedIntoId: uuid('merged_into_id'),
    /** Earliest event seen for this person (first touch, SPEC §6.7). */
    firstSeenAt: timestamp('first_seen_at', { withTimezone: true }),
    fieldMeta: jsonb('field_meta').$type<FieldMeta>().notNull().default({}),
    /**
     * Emails (lowercased) and phones kept by migration 0008, before `contact_identities` (0013) took over
     * finding a person by an older identifier: no longer written, read only as extra Conversions API
     * match keys. Not indexed (drizzle/0022): nothing looks a person up by them.
     */
    knownEmails: text('known_emails').array().notNull().default(sql`'{}'::text[]`),
    knownPhones: text('known_phones').array().notNull().default(sql`'{}'::text[]`),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.id] }),
    unique('contacts_tenant_mc_id_unique').on(t.tenantId, t.mcId),
    unique('contacts_tenant_ghl_id_unique').on(t.tenantId, t.ghlId),
    foreignKey({ columns: [t.tenantId], foreignColumns: [tenants.id] }).onDelete('cascade'),
    foreignKey({ name: 'contacts_merged_into_fk', columns: [t.tenantId, t.mergedIntoId], foreignColumns: [t.tenantId, t.id] }),
    index('contacts_phone_idx').on(t.tenantId, t.phone),
    index('contacts_stripe_customer_idx').on(t.tenantId, t.stripeCustomerId),
    index('contacts_created_at_idx').on(t.tenantId, t.createdAt),
    // Merged records are a few %: reports map them to their survivor through this small partial index.
    index('contacts_merged_into_idx').on(t.tenantId, t.mergedIntoId, t.id).where(sql`merged_into_id IS NOT NULL`),
  ],
);

export type Contact = typeof contacts.$inferSelect;
/** A `contacts` row as SQL returns it (snake_case column names, schema types). */
export type ContactRow = RowOf<typeof contacts>;
/** `contacts` row (whole or some columns) → `Contact` fields: the table's one mapper (ADR 0018). */
export const toContact = rowMapper(contacts);
