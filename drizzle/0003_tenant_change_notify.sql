-- Cross-process invalidation of cached tenant contexts (SPEC §3, §9): every change to a tenant or
-- to the secrets/state of one of its integrations sends NOTIFY mcb_tenant_changed '<tenant id>'.
-- Delivered at commit, so a listener never reloads a value that is not yet visible. Hand-written.
CREATE FUNCTION mcb_notify_tenant_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_TABLE_NAME = 'tenants' THEN
    PERFORM pg_notify('mcb_tenant_changed', coalesce(NEW.id, OLD.id)::text);
  ELSE
    PERFORM pg_notify('mcb_tenant_changed', coalesce(NEW.tenant_id, OLD.tenant_id)::text);
  END IF;
  RETURN NULL;
END
$$;
--> statement-breakpoint
GRANT EXECUTE ON FUNCTION mcb_notify_tenant_changed() TO mcb_app, mcb_admin;
--> statement-breakpoint
CREATE TRIGGER tenants_notify_changed AFTER INSERT OR UPDATE OR DELETE ON tenants
  FOR EACH ROW EXECUTE FUNCTION mcb_notify_tenant_changed();
--> statement-breakpoint
CREATE TRIGGER tenant_integrations_notify_written AFTER INSERT OR DELETE ON tenant_integrations
  FOR EACH ROW EXECUTE FUNCTION mcb_notify_tenant_changed();
--> statement-breakpoint
-- Bookkeeping updates (last_error, last_success_at) change nothing a cached context holds.
CREATE TRIGGER tenant_integrations_notify_updated AFTER UPDATE ON tenant_integrations
  FOR EACH ROW WHEN (
    OLD.credentials IS DISTINCT FROM NEW.credentials
    OR OLD.webhook_secret IS DISTINCT FROM NEW.webhook_secret
    OR OLD.previous_webhook_secret IS DISTINCT FROM NEW.previous_webhook_secret
    OR OLD.previous_secret_expires_at IS DISTINCT FROM NEW.previous_secret_expires_at
    OR OLD.is_active IS DISTINCT FROM NEW.is_active
    OR OLD.provider IS DISTINCT FROM NEW.provider
    OR OLD.tenant_id IS DISTINCT FROM NEW.tenant_id
  ) EXECUTE FUNCTION mcb_notify_tenant_changed();
