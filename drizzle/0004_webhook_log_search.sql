-- Operator console search (issue 8, SPEC §8). Hand-written: drizzle cannot express these indexes.
-- Text search over webhook logs: event type, dedupe key, and the payload's id- and email-like values
-- (strings of 3–200 chars without spaces containing a digit or '@', numbers >= 1000). Names and free
-- text are left out on purpose, so the trigram index stays small on a write-heavy table.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION mcb_webhook_search_text(event_type text, dedupe_key text, payload jsonb) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT lower(concat_ws(' ', event_type, dedupe_key, jsonb_path_query_array(payload,
    'strict $.** ? ((@.type() == "string" && @ like_regex "^[^ ]{3,200}$" && (@ like_regex "[0-9]" || @ like_regex "@")) || (@.type() == "number" && @ >= 1000))')::text))
$$;
--> statement-breakpoint
GRANT EXECUTE ON FUNCTION mcb_webhook_search_text(text, text, jsonb) TO mcb_app, mcb_admin;
--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "webhook_logs_search_trgm_idx" ON "webhook_logs" USING gin (mcb_webhook_search_text("event_type", "dedupe_key", "payload") gin_trgm_ops);
--> statement-breakpoint
-- Keyset pagination (received_at desc, id desc) across tenants, and by status across tenants.
CREATE INDEX IF NOT EXISTS "webhook_logs_received_idx" ON "webhook_logs" USING btree ("received_at", "id");
--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "webhook_logs_status_received_idx" ON "webhook_logs" USING btree ("status", "received_at", "id");
--> statement-breakpoint
-- "What did this log produce": funnel events and payments by their webhook log.
CREATE INDEX IF NOT EXISTS "funnel_events_webhook_log_idx" ON "funnel_events" USING btree ("tenant_id", "webhook_log_id");
--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "payments_webhook_log_idx" ON "payments" USING btree ("tenant_id", "webhook_log_id");
