CREATE TABLE "contact_identities" (
	"tenant_id" uuid NOT NULL,
	"kind" text NOT NULL,
	"value" text NOT NULL,
	"contact_id" uuid NOT NULL,
	"source" text,
	"webhook_log_id" bigint,
	"merged_from_id" uuid,
	"first_seen_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "contact_identities_tenant_id_kind_value_pk" PRIMARY KEY("tenant_id","kind","value"),
	CONSTRAINT "contact_identities_kind_check" CHECK ("contact_identities"."kind" in ('mc_id','ghl_id','stripe_customer_id','email','phone'))
);
--> statement-breakpoint
CREATE TABLE "payment_status_changes" (
	"tenant_id" uuid NOT NULL,
	"payment_ref" text NOT NULL,
	"webhook_log_id" bigint NOT NULL,
	"status" text NOT NULL,
	"occurred_at" timestamp with time zone NOT NULL,
	CONSTRAINT "payment_status_changes_tenant_id_payment_ref_webhook_log_id_pk" PRIMARY KEY("tenant_id","payment_ref","webhook_log_id")
);
--> statement-breakpoint
ALTER TABLE "contact_identities" ADD CONSTRAINT "contact_identities_tenant_id_contact_id_contacts_tenant_id_id_fk" FOREIGN KEY ("tenant_id","contact_id") REFERENCES "public"."contacts"("tenant_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "payment_status_changes" ADD CONSTRAINT "payment_status_changes_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "contact_identities_contact_idx" ON "contact_identities" USING btree ("tenant_id","contact_id");--> statement-breakpoint
CREATE INDEX "payments_payment_intent_idx" ON "payments" USING btree ("tenant_id","stripe_payment_intent_id");--> statement-breakpoint
-- Row-level security like every tenant table (SPEC §9, ADR 0002).
ALTER TABLE contact_identities ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE contact_identities FORCE ROW LEVEL SECURITY;
--> statement-breakpoint
CREATE POLICY tenant_isolation ON contact_identities USING (tenant_id = mcb_current_tenant()) WITH CHECK (tenant_id = mcb_current_tenant());
--> statement-breakpoint
ALTER TABLE payment_status_changes ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE payment_status_changes FORCE ROW LEVEL SECURITY;
--> statement-breakpoint
CREATE POLICY tenant_isolation ON payment_status_changes USING (tenant_id = mcb_current_tenant()) WITH CHECK (tenant_id = mcb_current_tenant());
--> statement-breakpoint
-- The applier's second lock step: try the identity locks it discovered after its read; a busy one aborts
-- the transaction with lock_not_available (55P03) and the applier retries with every key taken upfront.
CREATE FUNCTION mcb_try_xact_locks(keys bigint[]) RETURNS void LANGUAGE plpgsql AS $$
DECLARE k bigint;
BEGIN
  FOREACH k IN ARRAY coalesce(keys, '{}') LOOP
    IF NOT pg_try_advisory_xact_lock(k) THEN
      RAISE EXCEPTION 'identity lock % is busy', k USING ERRCODE = 'lock_not_available';
    END IF;
  END LOOP;
END
$$;
--> statement-breakpoint
GRANT EXECUTE ON FUNCTION mcb_try_xact_locks(bigint[]) TO mcb_app, mcb_admin;
--> statement-breakpoint
-- Existing data: every identifier each live contact carries or carried — its columns, the emails and phones
-- migration 0008 kept, the provider ids and emails its lineage recorded (merges used to null the loser's
-- mc_id / ghl_id; contact_field_changes still has them), the Stripe customers of its linked payments —
-- and the same for every record merged into it, all pointing at the live survivor. When two live contacts
-- share a value, the older keeps it (the one matching would have picked).
WITH RECURSIVE chain (tenant_id, id, survivor, depth) AS (
  SELECT tenant_id, id, id, 0 FROM contacts WHERE merged_into_id IS NULL
  UNION ALL
  SELECT c.tenant_id, c.id, chain.survivor, chain.depth + 1
  FROM contacts c JOIN chain ON c.tenant_id = chain.tenant_id AND c.merged_into_id = chain.id
  WHERE chain.depth < 64
),
raw (tenant_id, origin, kind, value, at) AS (
  SELECT c.tenant_id, c.id, v.kind, v.value, coalesce(c.first_seen_at, c.created_at)
  FROM contacts c CROSS JOIN LATERAL (VALUES
    ('mc_id', c.mc_id), ('ghl_id', c.ghl_id), ('stripe_customer_id', c.stripe_customer_id),
    ('email', lower(c.email_primary)), ('email', lower(c.email_booking)), ('email', lower(c.email_payment)),
    ('phone', c.phone)) AS v (kind, value)
  UNION ALL
  SELECT c.tenant_id, c.id, 'email', lower(e), coalesce(c.first_seen_at, c.created_at) FROM contacts c, unnest(c.known_emails) AS e
  UNION ALL
  SELECT c.tenant_id, c.id, 'phone', p, coalesce(c.first_seen_at, c.created_at) FROM contacts c, unnest(c.known_phones) AS p
  UNION ALL
  SELECT f.tenant_id, f.contact_id,
    CASE WHEN f.field LIKE 'email_%' THEN 'email' ELSE f.field END,
    CASE WHEN f.field LIKE 'email_%' THEN lower(f.new_value) ELSE f.new_value END, f.changed_at
  FROM contact_field_changes f
  WHERE f.field IN ('mc_id', 'ghl_id', 'stripe_customer_id', 'email_primary', 'email_booking', 'email_payment', 'phone')
  UNION ALL
  SELECT p.tenant_id, p.contact_id, 'stripe_customer_id', p.stripe_customer_id, p.paid_at
  FROM payments p WHERE p.contact_id IS NOT NULL
),
resolved AS (
  SELECT r.tenant_id, r.kind, btrim(r.value) AS value, ch.survivor, nullif(r.origin, ch.survivor) AS merged_from,
    r.at, s.first_seen_at, s.created_at
  FROM raw r
  JOIN chain ch ON ch.tenant_id = r.tenant_id AND ch.id = r.origin
  JOIN contacts s ON s.tenant_id = ch.tenant_id AND s.id = ch.survivor
  WHERE r.value IS NOT NULL AND btrim(r.value) <> ''
)
INSERT INTO contact_identities (tenant_id, kind, value, contact_id, source, merged_from_id, first_seen_at)
SELECT DISTINCT ON (tenant_id, kind, value) tenant_id, kind, value, survivor, 'migration', merged_from, at
FROM resolved
ORDER BY tenant_id, kind, value, first_seen_at ASC NULLS LAST, created_at ASC, survivor ASC, at ASC
ON CONFLICT DO NOTHING;
