-- Keep the search text off the intake path (measured: the per-statement insert trigger of 0007 doubled
-- the Postgres cost of every webhook_logs INSERT, 513 → 220 µs/row without it, and the receiver is the
-- edge every provider waits on). The text is now written when a worker picks the log up
-- (status leaves 'received'), and at once for a row inserted with any other status (rejected rows,
-- which operators search to fix and replay; rows written by tools).
-- A log still waiting in the queue is found by tenant/source/status/time filters, by text once picked up.
DROP TRIGGER IF EXISTS webhook_logs_search_insert ON webhook_logs;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION mcb_webhook_log_search_add() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO webhook_log_search (tenant_id, log_id, search_text)
  SELECT NEW.tenant_id, NEW.id, mcb_webhook_search_text(NEW.event_type, NEW.dedupe_key, NEW.payload)
  WHERE NOT EXISTS (SELECT 1 FROM webhook_log_search s WHERE s.tenant_id = NEW.tenant_id AND s.log_id = NEW.id);
  RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE TRIGGER webhook_logs_search_not_received AFTER INSERT ON webhook_logs
  FOR EACH ROW WHEN (NEW.status <> 'received') EXECUTE FUNCTION mcb_webhook_log_search_add();
--> statement-breakpoint
CREATE TRIGGER webhook_logs_search_picked_up AFTER UPDATE OF status ON webhook_logs
  FOR EACH ROW WHEN (OLD.status = 'received' AND NEW.status <> 'received') EXECUTE FUNCTION mcb_webhook_log_search_add();
--> statement-breakpoint
GRANT EXECUTE ON FUNCTION mcb_webhook_log_search_add() TO mcb_app, mcb_admin;
