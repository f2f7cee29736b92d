-- A Checkout session in subscription mode has no payment intent; its subscription's first invoice does,
-- and a dispute names only the intent. The invoice's intent is kept here until (or after) the session's
-- payment, found by stripe_subscription_id, takes it (ADR 0012 addendum). Adding a nullable column
-- without default does not rewrite payments; its index is built under a share lock.
CREATE TABLE "stripe_first_invoices" (
	"tenant_id" uuid NOT NULL,
	"subscription_id" text NOT NULL,
	"payment_intent_id" text NOT NULL,
	"invoice_id" text,
	"webhook_log_id" bigint NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "stripe_first_invoices_tenant_id_subscription_id_pk" PRIMARY KEY("tenant_id","subscription_id")
);
--> statement-breakpoint
ALTER TABLE "payments" ADD COLUMN "stripe_subscription_id" text;--> statement-breakpoint
ALTER TABLE "stripe_first_invoices" ADD CONSTRAINT "stripe_first_invoices_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "payments_stripe_subscription_idx" ON "payments" USING btree ("tenant_id","stripe_subscription_id");--> statement-breakpoint
-- Row-level security like every tenant table (SPEC §9, ADR 0002).
ALTER TABLE stripe_first_invoices ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE stripe_first_invoices FORCE ROW LEVEL SECURITY;
--> statement-breakpoint
CREATE POLICY tenant_isolation ON stripe_first_invoices USING (tenant_id = mcb_current_tenant()) WITH CHECK (tenant_id = mcb_current_tenant());
