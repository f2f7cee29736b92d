-- The applier's check right after its try-locks (mcb_try_xact_locks): an orphan payment carrying an
-- identifier it has just locked, committed after its read (by another applier that held that lock then),
-- is in no plan and would stay unlinked though the person now has the identifier (SPEC §6.3). It aborts
-- with serialization_failure (40001): the applier retries with every key locked before its read.
-- Plain columns compared with = / = any, so each lookup has its partial index under RLS (drizzle/0021).
CREATE FUNCTION mcb_check_orphans_seen(tenant uuid, emails text[], phones text[], customers text[], seen text[]) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (
    SELECT 1 FROM payments
    WHERE tenant_id = tenant AND contact_id IS NULL
      AND (customer_email_key = ANY(emails) OR customer_phone = ANY(phones) OR stripe_customer_id = ANY(customers))
      AND payment_event_id <> ALL(seen)
  ) THEN
    RAISE EXCEPTION 'an orphan payment of a newly locked identifier was committed after the read'
      USING ERRCODE = 'serialization_failure';
  END IF;
END
$$;
--> statement-breakpoint
GRANT EXECUTE ON FUNCTION mcb_check_orphans_seen(uuid, text[], text[], text[], text[]) TO mcb_app, mcb_admin;
