-- webhook_log_search (0006) is filled by triggers, so every writer of webhook_logs (receiver, outbox,
-- tests, psql) keeps it right; the expression index of 0004/0005 on webhook_logs goes, because every
-- status update of a log re-inserted into it (measured: ~8x slower status updates).
DROP INDEX IF EXISTS "webhook_logs_search_trgm_idx";
--> statement-breakpoint
ALTER TABLE webhook_log_search ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE webhook_log_search FORCE ROW LEVEL SECURITY;
--> statement-breakpoint
CREATE POLICY tenant_isolation ON webhook_log_search USING (tenant_id = mcb_current_tenant()) WITH CHECK (tenant_id = mcb_current_tenant());
--> statement-breakpoint
GRANT SELECT, INSERT, UPDATE, DELETE ON webhook_log_search TO mcb_app, mcb_admin;
--> statement-breakpoint
GRANT USAGE, SELECT ON SEQUENCE webhook_log_search_id_seq TO mcb_app, mcb_admin;
--> statement-breakpoint
-- One statement per INSERT statement (transition table), so a 500-row group commit costs one insert here.
-- SECURITY INVOKER: the rows carry the tenant_id the writer was allowed to insert into webhook_logs.
CREATE OR REPLACE FUNCTION mcb_webhook_log_search_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO webhook_log_search (tenant_id, log_id, search_text)
  SELECT n.tenant_id, n.id, mcb_webhook_search_text(n.event_type, n.dedupe_key, n.payload) FROM new_rows n;
  RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE TRIGGER webhook_logs_search_insert AFTER INSERT ON webhook_logs
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION mcb_webhook_log_search_insert();
--> statement-breakpoint
-- The worker fills in event_type when the receiver could not tell it; payload and dedupe key never change.
CREATE OR REPLACE FUNCTION mcb_webhook_log_search_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE webhook_log_search SET search_text = mcb_webhook_search_text(NEW.event_type, NEW.dedupe_key, NEW.payload)
  WHERE tenant_id = NEW.tenant_id AND log_id = NEW.id;
  RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE TRIGGER webhook_logs_search_update AFTER UPDATE OF event_type ON webhook_logs
  FOR EACH ROW WHEN (OLD.event_type IS DISTINCT FROM NEW.event_type) EXECUTE FUNCTION mcb_webhook_log_search_update();
--> statement-breakpoint
GRANT EXECUTE ON FUNCTION mcb_webhook_log_search_insert(), mcb_webhook_log_search_update() TO mcb_app, mcb_admin;
--> statement-breakpoint
-- Backfill as mcb_admin (BYPASSRLS): under FORCE RLS a non-superuser owner would see no rows.
SET LOCAL ROLE mcb_admin;
--> statement-breakpoint
INSERT INTO webhook_log_search (tenant_id, log_id, search_text)
SELECT l.tenant_id, l.id, mcb_webhook_search_text(l.event_type, l.dedupe_key, l.payload) FROM webhook_logs l;
--> statement-breakpoint
RESET ROLE;
