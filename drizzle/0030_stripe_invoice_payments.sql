-- From Stripe API version 2025-03-31 an invoice names no payment intent, and its webhook does not include
-- the `payments` list that does: the intent comes with `invoice_payment.paid`. It is kept here, by invoice,
-- until (or after) the payment booked for that invoice takes it — a renewal's (payment_event_id = the
-- invoice id), or the Checkout session's of a subscription whose first invoice it is (ADR 0012 addendum).
-- A first invoice of those versions is stored without its intent (found again by invoice_id), so
-- stripe_first_invoices.payment_intent_id becomes nullable. New table and index on an existing small
-- table: no rewrite of payments.
CREATE TABLE "stripe_invoice_payments" (
	"tenant_id" uuid NOT NULL,
	"invoice_id" text NOT NULL,
	"payment_intent_id" text NOT NULL,
	"webhook_log_id" bigint NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "stripe_invoice_payments_tenant_id_invoice_id_pk" PRIMARY KEY("tenant_id","invoice_id")
);
--> statement-breakpoint
ALTER TABLE "stripe_first_invoices" ALTER COLUMN "payment_intent_id" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "stripe_invoice_payments" ADD CONSTRAINT "stripe_invoice_payments_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "stripe_first_invoices_invoice_idx" ON "stripe_first_invoices" USING btree ("tenant_id","invoice_id");--> statement-breakpoint
-- Row-level security like every tenant table (SPEC §9, ADR 0002).
ALTER TABLE stripe_invoice_payments ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE stripe_invoice_payments FORCE ROW LEVEL SECURITY;
--> statement-breakpoint
CREATE POLICY tenant_isolation ON stripe_invoice_payments USING (tenant_id = mcb_current_tenant()) WITH CHECK (tenant_id = mcb_current_tenant());
