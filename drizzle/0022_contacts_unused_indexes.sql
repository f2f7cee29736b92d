-- Five indexes of contacts that no query can use, each paid on every contact insert and on every update
-- that changes an indexed column (applier writes are rarely HOT). The lower(email_*) indexes were meant
-- for looking a person up by email, but every such lookup runs as mcb_app under RLS, where lower() (not
-- leakproof) keeps Postgres from using them; people are found through contact_identities. known_emails
-- and known_phones are no longer written (contact_identities, 0013) and never searched. Measured on 20,000
-- contacts: insert 31 → 18–22 µs per row, update of an email 40 → 30 µs per row.
DROP INDEX "contacts_email_primary_idx";--> statement-breakpoint
DROP INDEX "contacts_email_booking_idx";--> statement-breakpoint
DROP INDEX "contacts_email_payment_idx";--> statement-breakpoint
DROP INDEX "contacts_known_emails_idx";--> statement-breakpoint
DROP INDEX "contacts_known_phones_idx";