-- Same search text as 0004, computed about 15x faster (measured: 0.13 ms instead of 2 ms per 1 KB
-- payload): one regex per string instead of three, and no bounded repetition (`{3,200}` made
-- Postgres' regex engine slow). Strings without spaces that contain a digit or '@', numbers >= 1000;
-- the whole text is capped at 2,000 characters so one odd payload cannot bloat the index.
DROP INDEX IF EXISTS "webhook_logs_search_trgm_idx";
--> statement-breakpoint
CREATE OR REPLACE FUNCTION mcb_webhook_search_text(event_type text, dedupe_key text, payload jsonb) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT lower(concat_ws(' ', event_type, dedupe_key, left(jsonb_path_query_array(payload,
    'strict $.** ? ((@.type() == "string" && @ like_regex "^[^ ]*[0-9@][^ ]*$") || (@.type() == "number" && @ >= 1000))')::text, 2000)))
$$;
--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "webhook_logs_search_trgm_idx" ON "webhook_logs" USING gin (mcb_webhook_search_text("event_type", "dedupe_key", "payload") gin_trgm_ops);
