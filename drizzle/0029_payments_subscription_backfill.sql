-- Session payments stored before 0027 have no stripe_subscription_id, so a first invoice could never hand
-- them its payment intent (and a dispute of the sale would stay unseen). Filled from the session the
-- payment was booked from (its webhook log); then `mcb replay --tenant <slug> --source stripe --status
-- ignored` re-runs the first invoices that were ignored before 0027, and they hand the intents over.
-- As mcb_admin (BYPASSRLS): under FORCE RLS a non-superuser owner would see no rows. Idempotent.
SET LOCAL ROLE mcb_admin;
--> statement-breakpoint
UPDATE payments p SET stripe_subscription_id = l.payload #>> '{data,object,subscription}'
FROM webhook_logs l
WHERE l.tenant_id = p.tenant_id AND l.id = p.webhook_log_id
  AND p.source = 'stripe' AND p.stripe_subscription_id IS NULL AND p.stripe_session_id IS NOT NULL
  AND p.payment_type <> 'refund'
  AND l.payload #>> '{type}' = 'checkout.session.completed'
  AND jsonb_typeof(l.payload #> '{data,object,subscription}') = 'string';
--> statement-breakpoint
RESET ROLE;
